"""``parse_definition``: the one door from a mapping to a checked definition.

The structure is checked by ``parse`` (every field, every problem at once),
then the curated names by ``curated`` (a name with the curated prefix must
hash like the catalog entry of that name). The catalog itself is read with
``parse`` alone, so neither module needs the other's door.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_mlenv.definition.curated import check_curated_name
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.parse import _parse

__all__ = ["parse_definition"]


def parse_definition(data: Mapping[str, Any], *, source: str = "") -> EnvironmentSpec:
    """Validate our YAML structure and return the definition it describes.

    ``source`` (a file name) is only used in messages. Raises ``SpecError``
    with every problem found. A name with the curated prefix must hash like
    the catalog entry of that name (curated images are found by hash).
    """
    spec = _parse(data, source)
    check_curated_name(spec)
    return spec
