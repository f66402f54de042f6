"""One pip list out of lines that name a package more than once, as pip does.

pip reads ``numpy>=1.20`` and ``numpy<2`` on two lines as one requirement,
``numpy<2,>=1.20``; an identical line twice is harmless; ``numpy==1`` and
``numpy==2`` cannot both hold. So: identical lines are dropped with a
warning, compatible ones are merged into the first one's place (order is
part of the hash), and only requirements no version can satisfy are
errors, located at both lines (``requirements.txt:3`` and ``:7``).
Pure: lines in, lines out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.definition.pip_requirements import canonical_requirement, requirement_key
from pulumi_mlenv.definition.url_requirements import is_bare_url, moving_reference
from pulumi_mlenv.errors import Problem

__all__ = ["Combined", "Located", "combine_pip_lines"]


@dataclass(frozen=True, slots=True)
class Located:
    """A checked pip line and where it was written (``file:line`` or a field path)."""

    where: str
    option: str | None = None
    requirement: str | None = None


@dataclass
class Combined:
    """The combined list: ``options`` and ``requirements`` in written order;
    ``problems`` are errors, ``warnings`` are not."""

    options: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


# Options pip keeps one value of: a second, different one silently wins.
_SINGLE_VALUED = ("--index-url ",)


def combine_pip_lines(lines: list[Located]) -> Combined:
    """Combine ``lines`` (already canonical) as pip would read them together."""
    out = Combined()
    option_at: dict[str, str] = {}
    single: dict[str, tuple[str, str]] = {}
    first: dict[str, tuple[int, str]] = {}  # key -> (index in out.requirements, where)
    for line in lines:
        if line.option is not None:
            if line.option in option_at:
                out.warnings.append(_twice(line.where, line.option, option_at[line.option]))
                continue
            prefix = next((p for p in _SINGLE_VALUED if line.option.startswith(p)), None)
            if prefix is not None and prefix in single:
                other, where = single[prefix]
                out.problems.append(
                    Problem(
                        line.where,
                        f"'{line.option}' conflicts with '{other}' ({where}):"
                        " pip would use only the last one",
                        "keep one; add others with --extra-index-url",
                    )
                )
                continue
            if prefix is not None:
                single[prefix] = (line.option, line.where)
            option_at[line.option] = line.where
            out.options.append(line.option)
        elif line.requirement is not None:
            moving = moving_reference(line.requirement)
            if moving:
                out.warnings.append(Problem(line.where, moving))
            key = requirement_key(line.requirement)
            if key not in first:
                first[key] = (len(out.requirements), line.where)
                out.requirements.append(line.requirement)
                continue
            index, where = first[key]
            before = out.requirements[index]
            if before == line.requirement:
                out.warnings.append(_twice(line.where, line.requirement, where))
                continue
            merged = _merge(before, line.requirement)
            if merged is None:
                out.problems.append(
                    Problem(
                        line.where,
                        f"'{line.requirement}' conflicts with '{before}' ({where}):"
                        " no version satisfies both",
                        "keep one of the two lines",
                    )
                )
            else:
                out.requirements[index] = merged
    return out


def _twice(where: str, text: str, first: str) -> Problem:
    return Problem(where, f"'{text}' is listed twice (also at {first})", "remove one")


def _merge(a: str, b: str) -> str | None:
    """One requirement meaning both ``a`` and ``b`` (same name and marker), or
    None when they cannot both hold (two URLs, a URL and a version, or
    specifiers no version satisfies)."""
    if is_bare_url(a) or is_bare_url(b):  # two commits of one repository: pick one
        return None
    ra, rb = Requirement(a), Requirement(b)
    if ra.url or rb.url:
        return None
    specifiers = ra.specifier & rb.specifier
    if not _satisfiable(specifiers):
        return None
    text = ra.name
    extras = ra.extras | rb.extras
    if extras:
        text += "[" + ",".join(sorted(extras)) + "]"
    text += str(specifiers)
    if ra.marker is not None:
        text += f"; {ra.marker}"
    return canonical_requirement(text)


def _satisfiable(specifiers: SpecifierSet) -> bool:
    """False when no version can satisfy ``specifiers``: two different exact
    pins, a pin outside a range, or a lower bound above an upper bound.
    Anything subtler is left to the installer (which says so at build time)."""
    exact = [s for s in specifiers if s.operator in ("==", "===") and "*" not in s.version]
    if exact:
        if len({s.version for s in exact if s.operator == "==="}) > 1:
            return False
        try:
            versions = {Version(s.version) for s in exact}
        except InvalidVersion:
            return True
        if len(versions) > 1:
            return False
        return specifiers.contains(next(iter(versions)), prereleases=True)
    low: tuple[Version, bool] | None = None  # (version, inclusive)
    high: tuple[Version, bool] | None = None
    for s in specifiers:
        bounds = _bounds(s)
        if bounds is None:
            continue
        lo, hi = bounds
        if lo is not None and (low is None or lo[0] > low[0] or (lo[0] == low[0] and not lo[1])):
            low = lo
        if hi is not None and (high is None or hi[0] < high[0] or (hi[0] == high[0] and not hi[1])):
            high = hi
    if low is None or high is None:
        return True
    return low[0] < high[0] or (low[0] == high[0] and low[1] and high[1])


def _bounds(
    s: Specifier,
) -> tuple[tuple[Version, bool] | None, tuple[Version, bool] | None] | None:
    """The (lower, upper) bounds one specifier sets, each ``(version, inclusive)``."""
    try:
        v = Version(s.version.removesuffix(".*"))
    except InvalidVersion:
        return None
    if s.operator == ">=":
        return (v, True), None
    if s.operator == ">":
        return (v, False), None
    if s.operator == "<=":
        return None, (v, True)
    if s.operator == "<":
        return None, (v, False)
    if s.operator == "~=" and len(v.release) > 1:
        upper = Version(".".join(str(n) for n in (*v.release[:-2], v.release[-2] + 1)))
        return (v, True), (upper, False)
    return None
