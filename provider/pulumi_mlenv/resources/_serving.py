"""Small helpers shared by the Model, Deployment and Endpoint resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from pulumi_mlenv.config import Settings
from pulumi_mlenv.policy.unknown import UNKNOWN, is_unknown

__all__ = ["UNKNOWN", "is_unknown", "ref_of", "workspace_of"]


def ref_of(resource: Any) -> Any:
    """``NAME:VERSION`` of an Environment or Model resource (an Output), or
    the string given as it is, or None."""
    if resource is None or isinstance(resource, str):
        return resource
    name, version = getattr(resource, "name", None), getattr(resource, "version", None)
    if name is None or version is None:
        raise TypeError(
            f"expected an Environment or Model resource, or 'NAME:VERSION', got {resource!r}"
        )
    return pulumi.Output.all(name, version).apply(lambda nv: f"{nv[0]}:{nv[1]}")


def workspace_of(props: Mapping[str, Any], settings: Settings) -> str:
    """The workspace URL: the resource's, else the settings'."""
    return str(props.get("workspace") or settings.workspace_url)
