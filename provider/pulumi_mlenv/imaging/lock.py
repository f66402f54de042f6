"""The lock (R16): the exact distributions an environment got, as
``name==version`` lines, and the difference between two locks (R18)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.utils import canonicalize_name

__all__ = ["diff_locks", "lock_versions", "parse_lock"]

_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)")
_DIRECT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*@\s*(\S+)")


def parse_lock(text: str) -> tuple[str, ...]:
    """Lines of a freeze output, normalised: comments and blanks dropped,
    names canonical (PEP 503), sorted by name. ``name @ url`` lines are kept
    as written (credentials were stripped in the build)."""
    entries: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("-") else ""
        if not line:
            continue
        m = _PINNED.match(line)
        if m:
            name = canonicalize_name(m.group(1))
            entries[name] = f"{name}=={m.group(2)}"
            continue
        m = _DIRECT.match(line)
        if m:
            name = canonicalize_name(m.group(1))
            entries[name] = f"{name} @ {m.group(2)}"
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
