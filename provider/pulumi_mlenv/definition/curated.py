"""The curated catalog (three kinds): ready-made definitions shipped as YAML files in
``definition/curated/``, under a reserved name prefix.

Curated is a property of the *hash*, not of the name: a definition is curated
only when it hashes like a catalog entry (reuse by hash). A definition that uses the
prefix but differs from its entry is refused, so that a changed curated
environment cannot pass for the real one.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources

import yaml

from pulumi_mlenv.definition.explain import explain
from pulumi_mlenv.definition.hashing import compute_hash, with_resolved_base
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.parse import _parse
from pulumi_mlenv.errors import SpecError

__all__ = [
    "CURATED_PREFIX",
    "catalog",
    "check_curated_name",
    "curated_by_hash",
    "curated_name",
    "get_curated",
]

#: Names starting with this are reserved for catalog entries.
CURATED_PREFIX = "mlenv-curated-"


@lru_cache(maxsize=1)
def _entries() -> tuple[EnvironmentSpec, ...]:
    folder = resources.files("pulumi_mlenv.definition").joinpath("curated")
    out: list[EnvironmentSpec] = []
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if not item.name.endswith(".yml"):
            continue
        source = f"curated/{item.name}"
        spec = _parse(yaml.safe_load(item.read_text(encoding="utf-8")), source)
        if not spec.name.startswith(CURATED_PREFIX):
            raise SpecError.at("name", f"{source}: a curated name must start {CURATED_PREFIX!r}")
        out.append(spec)
    return tuple(out)


@lru_cache(maxsize=1)
def _by_hash() -> dict[str, str]:
    return {compute_hash(e): e.name for e in _entries()}


def catalog() -> list[EnvironmentSpec]:
    """Every curated definition, sorted by file name."""
    return list(_entries())


def _full_name(name: str) -> str:
    return name if name.startswith(CURATED_PREFIX) else CURATED_PREFIX + name


def get_curated(name: str) -> EnvironmentSpec:
    """The catalog entry called ``name`` (the prefix may be left out).
    Raises ``SpecError`` with the closest names when there is none."""
    full = _full_name(name)
    for entry in _entries():
        if entry.name == full:
            return entry
    names = [e.name for e in _entries()]
    # Compare without the shared prefix, which would make every name look close.
    short = [n.removeprefix(CURATED_PREFIX) for n in names]
    close = difflib.get_close_matches(full.removeprefix(CURATED_PREFIX), short, n=2, cutoff=0.6)
    if close:
        fix = "did you mean " + " or ".join(repr(CURATED_PREFIX + c) for c in close) + "?"
    else:
        fix = "curated environments: " + ", ".join(names)
    raise SpecError.at("name", f"'{name}' is not a curated environment", fix)


def curated_name(spec: EnvironmentSpec) -> str | None:
    """The name of the catalog entry that hashes like ``spec`` (whatever
    ``spec`` is called), else None. A resolved base digest is ignored: the
    curated image is the catalog's, wherever its base tag has moved since."""
    return curated_by_hash(compute_hash(with_resolved_base(spec, None)))


def curated_by_hash(definition_hash: str) -> str | None:
    """``curated_name`` of a definition whose hash (without a resolved base
    digest) is already known."""
    return _by_hash().get(definition_hash)


def check_curated_name(spec: EnvironmentSpec) -> None:
    """Refuse a definition that borrows the curated prefix without being the
    entry of that name (reuse by hash: any change makes a new, non-curated environment)."""
    if not spec.name.startswith(CURATED_PREFIX):
        return
    try:
        entry = get_curated(spec.name)
    except SpecError as err:
        raise SpecError.at(
            "name",
            f"the prefix {CURATED_PREFIX!r} is reserved for curated environments, "
            f"and '{spec.name}' is not one",
            err.problems[0].fix + f" Otherwise rename it without {CURATED_PREFIX!r}.",
        ) from None
    unresolved = with_resolved_base(spec, None)
    if compute_hash(unresolved) != compute_hash(entry):
        changes = "; ".join(explain(entry, unresolved))
        suggestion = spec.name.removeprefix(CURATED_PREFIX) + "-custom"
        raise SpecError.at(
            "name",
            f"'{spec.name}' differs from the curated environment of that name ({changes}), "
            "so it is a new, non-curated environment",
            f"rename it, e.g. '{suggestion}'",
        )
