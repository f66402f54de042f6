"""One mapper for the records the use cases copy from another record field
by field (a model's lineage from its run, a gc candidate from its image)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["record_of"]

R = TypeVar("R", bound="DataclassInstance")


def record_of(cls: type[R], row: object, **overrides: Any) -> R:
    """A ``cls`` whose fields are ``overrides`` where given, else ``row``'s
    attributes of the same names (a field ``row`` lacks raises
    ``AttributeError``): the fields both have are copied without a line
    each, and one added to both is copied too."""
    names = {f.name for f in fields(cls) if f.init}
    unknown = set(overrides) - names
    if unknown:  # a misspelt override would otherwise be dropped silently
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    values = {name: overrides[name] if name in overrides else getattr(row, name) for name in names}
    return cls(**values)
