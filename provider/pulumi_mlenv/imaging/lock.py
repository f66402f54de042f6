"""The lock (unpinned packages are locked): the exact distributions an environment got, as
``name==version`` lines, and the difference between two locks (an explicit forced rebuild)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = ["LockEntry", "diff_locks", "lock_entry", "lock_versions", "parse_lock"]


@dataclass(frozen=True, slots=True)
class LockEntry:
    """One installed distribution: its canonical name and exact version, or
    the URL it came from (a direct reference)."""

    name: str
    version: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        return f"{self.name}=={self.version}" if self.version else f"{self.name} @ {self.url}"


def lock_entry(line: str) -> LockEntry | None:
    """A freeze line as a ``LockEntry`` (PEP 508, read by ``packaging``), or
    None when it pins nothing: a range, extras, markers, an option line."""
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if req.extras or req.marker is not None:
        return None
    name = canonicalize_name(req.name)
    if req.url:
        return LockEntry(name, url=req.url)
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or specs[0].version.endswith(".*"):
        return None
    return LockEntry(name, version=specs[0].version)


def parse_lock(text: str) -> tuple[str, ...]:
    """Lines of a freeze output, normalised: comments and blanks dropped,
    names canonical (PEP 503), sorted by name. ``name @ url`` lines are kept
    as written (credentials were stripped in the build)."""
    entries: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("-") else ""
        if not line:
            continue
        entry = lock_entry(line)
        if entry is not None:
            entries[entry.name] = str(entry)
    return tuple(entries[k] for k in sorted(entries))


def lock_versions(lock: Iterable[str]) -> dict[str, str]:
    """``{name: version-or-url}`` of a parsed lock."""
    out: dict[str, str] = {}
    for line in lock:
        if "==" in line:
            name, version = line.split("==", 1)
        else:
            name, _, version = line.partition(" @ ")
        out[name.strip()] = version.strip()
    return out


def diff_locks(old: Iterable[str], new: Iterable[str]) -> list[str]:
    """What changed between two locks, one line per package, by name:
    ``numpy 1.26.4 -> 2.1.0``, ``+ idna 3.7``, ``- six 1.16.0``."""
    before, after = lock_versions(old), lock_versions(new)
    lines: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        if a is None:
            lines.append(f"+ {name} {b}")
        elif b is None:
            lines.append(f"- {name} {a}")
        else:
            lines.append(f"{name} {a} -> {b}")
    return lines
