"""What a preview can say about the lock a rebuild will have: the packages
the new definition pins exactly (``numpy==2.1.0``, conda ``numpy=2.1.0``)
against the versions the current image's lock has. What is not pinned is
resolved at build time and cannot be known before it (the lock records it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.definition import EnvironmentSpec

__all__ = ["PinPrediction", "pinned_lock_changes", "predict_pins"]

_TOOLS = frozenset({"python", "pip"})


def _pins(spec: EnvironmentSpec) -> dict[str, str]:
    """``{canonical name: version}`` of exact pins, conda's then pip's."""
    conda = spec.python.conda
    if conda is None:
        return {}
    pins: dict[str, str] = {}
    for dep in conda.dependencies:
        name, sep, version = dep.replace("==", "=").partition("=")
        if sep and version and "*" not in version and "=" not in version:
            key = canonicalize_name(name.strip())
            if key not in _TOOLS:
                pins[key] = version.strip()
    for text in conda.pip:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        specs = list(req.specifier)
        exact = len(specs) == 1 and specs[0].operator in ("==", "===")
        if req.url is None and exact and not specs[0].version.endswith(".*"):
            pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def _same(a: str, b: str) -> bool:
    """Equal as versions (``3.7`` is ``3.7.0``), else as text."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def pinned_lock_changes(old_lock: Iterable[str], spec: EnvironmentSpec) -> list[str]:
    """One line per pinned package whose version will change, or that the
    lock does not have yet: ``numpy 1.26.4 -> 2.1.0``, ``+ idna 3.7``.
    Sorted by name; empty when nothing pinned moves."""
    locked: dict[str, str] = {}
    for line in old_lock:
        name, sep, version = line.partition("==")
        if sep:
            locked[canonicalize_name(name.strip())] = version.strip()
    lines: list[str] = []
    for name, version in sorted(_pins(spec).items()):
        before = locked.get(name)
        if before is None:
            lines.append(f"+ {name} {version}")
        elif not _same(before, version):
            lines.append(f"{name} {before} -> {version}")
    return lines


@dataclass(frozen=True, slots=True)
class PinPrediction:
    """The lock a rebuild should have, as far as a preview can tell.

    ``pins``: sorted ``name==version`` lines, a version ``?`` where it is
    decided at build time; None when the build will not be layered by pins
    (a URL or path requirement, or a lock with one). ``uncertain``: the
    resolver decides part of it (a requirement not pinned, or removed)."""

    pins: tuple[str, ...] | None
    uncertain: bool


def _names(spec: EnvironmentSpec) -> dict[str, Requirement | None]:
    """The pip requirements of ``spec`` by canonical name (None: unreadable)."""
    conda = spec.python.conda
    out: dict[str, Requirement | None] = {}
    for text in conda.pip if conda else ():
        try:
            req = Requirement(text)
        except InvalidRequirement:
            out[text] = None
            continue
        out[canonicalize_name(req.name)] = req
    return out


def predict_pins(
    old_lock: Iterable[str], old_spec: EnvironmentSpec, new_spec: EnvironmentSpec
) -> PinPrediction:
    """The old lock, moved by what the new definition says: exact pins take
    their version; a requirement the old lock's version no longer satisfies,
    or a new one not pinned, gets ``?``; a removed requirement leaves (its
    own dependencies may stay or go: uncertain)."""
    locked: dict[str, str] = {}
    for line in old_lock:
        name, sep, version = line.partition("==")
        if not sep:
            return PinPrediction(None, True)  # ``name @ url``: installed in one step
        locked[canonicalize_name(name.strip())] = version.strip()
    old, new = _names(old_spec), _names(new_spec)
    if any(req is None or req.url for req in new.values()):
        return PinPrediction(None, True)
    uncertain = False
    for name in old.keys() - new.keys():
        uncertain = True
        locked.pop(name, None)
    exact = _pins(new_spec)
    for name, req in new.items():
        assert req is not None
        if name in exact:
            locked[name] = exact[name]
            continue
        before = locked.get(name)
        if before is None or not req.specifier.contains(before, prereleases=True):
            locked[name] = "?"
            uncertain = True
    for name, version in exact.items():  # conda pins of pip packages
        locked.setdefault(name, version)
    return PinPrediction(tuple(f"{n}=={locked[n]}" for n in sorted(locked)), uncertain)
