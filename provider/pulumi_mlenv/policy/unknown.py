"""What a value not known yet looks like (a preview of a program whose
inputs come from resources not created yet), said once for every policy and
resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["UNKNOWN", "is_unknown"]

#: What the engine sends a dynamic provider for a value not known yet
#: (``pulumi.runtime.rpc.UNKNOWN``).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_unknown(value: Any) -> bool:
    """True when ``value`` or anything inside it is not known yet."""
    if value == UNKNOWN or type(value).__name__ == "Unknown":  # pulumi.output.Unknown
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False
