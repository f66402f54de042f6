"""Conda match specs (``python=3.11``, ``conda-forge::numpy>=1.26``): check,
canonicalise, and tell pinned from unpinned.

Only the cosmetic part is normalised: the package name is lower-cased (conda
names are), channel prefixes kept, whitespace around operators removed, runs of
spaces collapsed. The meaning of a spec is never rewritten (``numpy=1.26`` and
``numpy==1.26`` stay different: conda reads them differently).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "canonical_conda_spec",
    "conda_spec_name",
    "conda_spec_version",
    "is_pinned_conda_spec",
]

_SPEC = re.compile(
    r"(?:(?P<channel>[A-Za-z0-9_.\-/:]+?)::)?"
    r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)"
    r"(?P<rest>.*)",
    re.DOTALL,
)
_OPS = re.compile(r"\s*([=<>!~,|]+)\s*")
_REST_OK = re.compile(r"[A-Za-z0-9_.*+!,|<>=~ ]*")
_BRACKET = re.compile(r"\[(?P<body>[^\[\]]*)\]")
_BRACKET_VERSION = re.compile(r"""version\s*=\s*["']?([^"',\]]+)["']?""")


@lru_cache(maxsize=8192)
def canonical_conda_spec(text: str) -> str | None:
    """The canonical form of a conda match spec, or None when it is not one."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        return None
    channel, name, rest = m.group("channel"), m.group("name").lower(), m.group("rest").strip()
    head = f"{channel}::{name}" if channel else name
    if not rest:
        return head
    if rest.startswith("["):
        b = _BRACKET.fullmatch(rest)
        if b is None:
            return None
        body = ",".join(part.strip() for part in b.group("body").split(","))
        return f"{head}[{body}]"
    starts_with_op = rest[0] in "=<>!~"
    # Runs of spaces are folded first (as they are after): _OPS then scans at
    # most one space from each position, not 16,000 before a missing operator.
    rest = re.sub(r"\s+", " ", _OPS.sub(r"\1", re.sub(r"\s+", " ", rest)))
    if not _REST_OK.fullmatch(rest) or not (starts_with_op or rest[0].isalnum()):
        return None
    return head + rest if starts_with_op else f"{head} {rest}"


def conda_spec_name(canonical: str) -> str:
    """The package name of a canonical spec, without channel."""
    m = _SPEC.fullmatch(canonical)
    return m.group("name").lower() if m else canonical


def conda_spec_version(canonical: str) -> str | None:
    """The version constraint of a canonical spec as written (``=3.11``,
    ``==3.11.*``, ``>=1.2``, ``1.26.4``), without build string; None if absent."""
    m = _SPEC.fullmatch(canonical)
    if m is None:
        return None
    rest = m.group("rest").strip()
    if not rest:
        return None
    if rest.startswith("["):
        v = _BRACKET_VERSION.search(rest)
        return v.group(1).strip() if v else None
    if rest[0] in "=<>!~":
        # name=1.2=build: drop the build part.
        parts = re.match(r"(==|=|[<>!~]=?|)([^=\s]*)", rest)
        return (parts.group(1) + parts.group(2)) if parts else rest
    return rest.split(" ", 1)[0]


def is_pinned_conda_spec(canonical: str) -> bool:
    """True when the spec names one version (unpinned packages are locked): ``==1.2.3``, ``=1.2.3``,
    ``=1.2.3=build``, ``name 1.2.3 [build]`` or ``[version='1.2.3']``, with no
    wildcard and no range. ``=1.2.3`` is conda's usual pin (what
    ``conda env export`` writes) and counts as pinned."""
    version = conda_spec_version(canonical)
    if version is None:
        return False
    bare = version.removeprefix("==").removeprefix("=")
    return bool(bare) and not re.search(r"[*<>!~,|=]", bare)
