"""Conda match specs (``python=3.11``, ``conda-forge::numpy>=1.26``): check,
canonicalise, and tell pinned from unpinned.

What a spec *means* (is it one, its package name, its version and build) is
read by conda's own grammar as rattler implements it (``py-rattler``'s
``MatchSpec``), never by hand. What is hashed is the spec's *text* with only
the cosmetic part normalised: the package name lower-cased (conda names
are), channel prefixes kept, whitespace around operators removed, runs of
spaces collapsed. The meaning is never rewritten (``numpy=1.26`` and
``numpy==1.26`` stay different: conda reads them differently), and the text
stays what it was before rattler read it, so no existing hash moves
(tests/definition/test_spec_hash_stable.py). A spec also reaches a shell
command in the build: beyond rattler's check, only the characters of the
grammar are let through.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from rattler import MatchSpec

__all__ = [
    "canonical_conda_spec",
    "conda_spec_name",
    "conda_spec_version",
    "is_pinned_conda_spec",
]

# The cosmetic fold: where the channel and name end, and what may follow.
_SPEC = re.compile(
    r"(?:(?P<channel>[A-Za-z0-9_.\-/:]+?)::)?"
    r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)"
    r"(?P<rest>.*)",
    re.DOTALL,
)
_OPS = re.compile(r"\s*([=<>!~,|]+)\s*")
_REST_OK = re.compile(r"[A-Za-z0-9_.*+!,|<>=~ ]*")
_BRACKET = re.compile(r"\[(?P<body>[^\[\]]*)\]")
#: A version with no operator, wildcard or alternative in it.
_ONE_VERSION = re.compile(r"[^*<>!~,|=\s]+")


class _Read(NamedTuple):
    """A spec as conda reads it: name (normalised), version spec and build
    (as rattler writes them; None when absent)."""

    name: str
    version: str | None
    build: str | None


@lru_cache(maxsize=8192)
def _read(text: str) -> _Read | None:
    try:
        spec = MatchSpec(text)
    except Exception:  # rattler raises several parse error types
        return None
    if spec.name is None:
        return None
    version = None if spec.version is None else str(spec.version)
    build = None if spec.build is None else str(spec.build)
    return _Read(spec.name.normalized, version, build)


@lru_cache(maxsize=8192)
def canonical_conda_spec(text: str) -> str | None:
    """The canonical form of a conda match spec, or None when it is not one."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        return None
    channel, name, rest = m.group("channel"), m.group("name").lower(), m.group("rest").strip()
    head = f"{channel}::{name}" if channel else name
    if not rest:
        canonical = head
    elif rest.startswith("["):
        b = _BRACKET.fullmatch(rest)
        if b is None:
            return None
        canonical = f"{head}[{','.join(part.strip() for part in b.group('body').split(','))}]"
    else:
        starts_with_op = rest[0] in "=<>!~"
        # Runs of spaces are folded first (as they are after): _OPS then scans at
        # most one space from each position, not 16,000 before a missing operator.
        rest = re.sub(r"\s+", " ", _OPS.sub(r"\1", re.sub(r"\s+", " ", rest)))
        if not _REST_OK.fullmatch(rest) or not (starts_with_op or rest[0].isalnum()):
            return None
        canonical = head + rest if starts_with_op else f"{head} {rest}"
    return canonical if _read(canonical) is not None else None


def conda_spec_name(canonical: str) -> str:
    """The package name of a canonical spec, without channel."""
    read = _read(canonical)
    return read.name if read is not None else canonical


def conda_spec_version(canonical: str) -> str | None:
    """The version constraint of a canonical spec as conda reads it
    (``python=3.11`` -> ``3.11.*``, ``numpy 1.26.4`` -> ``==1.26.4``,
    ``numpy>=1.2`` -> ``>=1.2``), without build string; None if absent."""
    read = _read(canonical)
    return read.version if read is not None else None


def is_pinned_conda_spec(canonical: str) -> bool:
    """True when the spec names one version (unpinned packages are locked):
    ``==1.2.3``, ``=1.2.3``, ``=1.2.3=build``, ``name 1.2.3 [build]`` or
    ``[version='1.2.3']``, with no wildcard and no range. ``=1.2.3`` is
    conda's usual pin (what ``conda env export`` writes) and counts as
    pinned, though conda reads it as ``1.2.3.*``: a wildcard *written*
    (``=1.2*``, ``==1.2.*``) does not count."""
    read = _read(canonical)
    if read is None or read.version is None:
        return False
    version = read.version
    if version.startswith("=="):
        return bool(_ONE_VERSION.fullmatch(version[2:]))
    written = canonical.replace(read.build, "") if read.build else canonical
    return (
        version.endswith(".*") and bool(_ONE_VERSION.fullmatch(version[:-2])) and "*" not in written
    )
