"""Pip requirement strings and pip option lines: parse, canonicalise, suggest fixes.

A requirement is kept in its canonical PEP 508 form so that cosmetic
differences (``Numpy == 1.26.4`` vs ``numpy==1.26.4``, ``1.26.04`` vs
``1.26.4``, the order of extras or of comma-separated specifiers) never change
the hash. Option lines (``--extra-index-url URL``, ``-i URL``, ``--pre``) are
normalised to their long spelling with one space before the value.

Everything here is pure: ``-r`` / ``-c`` includes are reported as such and
resolved by the file readers (``spec.formats``), never here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.errors import Problem

__all__ = [
    "PipLine",
    "canonical_option",
    "canonical_requirement",
    "clear_cache",
    "fast_canonical",
    "is_pinned_requirement",
    "parse_pip_line",
    "requirement_key",
    "suggest_requirement",
]

# Options that take a value, by every spelling pip accepts -> the long spelling.
_VALUE_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--no-binary": "--no-binary",
    "--only-binary": "--only-binary",
}
_FLAG_OPTIONS = {"--pre", "--no-index", "--prefer-binary"}
_INCLUDE_OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
_VCS_COMMIT = re.compile(r"@[0-9a-f]{40}(?:#|$)")
_EGG = re.compile(r"#egg=([A-Za-z0-9._-]+)")


@dataclass(frozen=True, slots=True)
class PipLine:
    """One line of a pip list, classified.

    Exactly one of ``requirement`` (canonical PEP 508), ``option`` (canonical
    option line) or ``include`` (``("-r" | "-c", path)``) is set, unless
    ``problem`` is set, in which case none is.
    """

    requirement: str | None = None
    option: str | None = None
    include: tuple[str, str] | None = None
    problem: Problem | None = None


def _canonical_version(version: str) -> str:
    if "*" in version:
        return version
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


# Already canonical and common: ``name==1.2.3`` with a PEP 503 name and a
# normalised release. Returned as is, without a full PEP 508 parse.
_SIMPLE_PIN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*==(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 65536


def canonical_requirement(text: str) -> str:
    """The canonical PEP 508 form of ``text``; raises ``InvalidRequirement``.

    PEP 503 name, extras sorted and normalised, specifiers sorted with PEP 440
    normalised versions (``===`` is left byte-exact, as PEP 440 wants), marker
    as packaging prints it. Cached, and the result is cached as its own
    canonical form, so hashing a parsed definition parses nothing again.
    """
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    if _SIMPLE_PIN.fullmatch(text):
        return text
    out = fast_canonical(text) or _canonicalise(text)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = out
    _CACHE[out] = out
    return out


def clear_cache() -> None:
    """Forget cached canonical forms (benchmarks measure the cold path)."""
    _CACHE.clear()


_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
# The name is an atomic group: once read, never shortened again. A shorter
# name cannot make a failed match succeed, and trying each one made a 16 kB
# line ending in ';' take a second (quadratic).
_FAST = re.compile(
    rf"\s*+(?P<name>(?>{_NAME}))\s*+(?:\[(?P<extras>[^\]]*)\])?(?P<specs>[^;@\[\]()]*)",
)
_FAST_EXTRA = re.compile(rf"\s*({_NAME})\s*")
_FAST_SPEC = re.compile(
    r"\s*(==|!=|~=|>=|<=|<|>)\s*((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*)(\.\*)?\s*"
)


def fast_canonical(text: str) -> str | None:
    """The canonical form of the common shapes (``Name[extra] >= 1.2, < 2``
    with plain release versions, no marker, no URL) without a full PEP 508
    parse; None for anything else. Property-tested against the full parser."""
    m = _FAST.fullmatch(text)
    if m is None:
        return None
    out: str = canonicalize_name(m.group("name"))
    extras_text = m.group("extras")
    if extras_text is not None:
        extras = []
        for part in extras_text.split(","):
            e = _FAST_EXTRA.fullmatch(part)
            if e is None:
                return None
            extras.append(canonicalize_name(e.group(1)))
        out += "[" + ",".join(sorted(set(extras))) + "]"
    specs_text = m.group("specs")
    if not specs_text.strip():
        return out
    specs: set[str] = set()
    for part in specs_text.split(","):
        sm = _FAST_SPEC.fullmatch(part)
        if sm is None:
            return None
        op, version, star = sm.groups()
        if star and op not in ("==", "!="):
            return None
        if op == "~=" and "." not in version:
            return None
        specs.add(op + version + (star or ""))
    return out + ",".join(sorted(specs))


def _canonicalise(text: str) -> str:
    req = Requirement(text.strip())
    out: str = canonicalize_name(req.name)
    if req.extras:
        out += "[" + ",".join(sorted({canonicalize_name(e) for e in req.extras})) + "]"
    if req.url:
        out += f" @ {req.url}"
        if req.marker is not None:
            out += " "
    else:
        specs = sorted(
            {
                s.operator + (s.version if s.operator == "===" else _canonical_version(s.version))
                for s in req.specifier
            }
        )
        out += ",".join(specs)
    if req.marker is not None:
        out += f"; {req.marker}"
    return out


def requirement_key(canonical: str) -> str:
    """The part of a canonical requirement that names *what* is installed:
    the name plus the marker (so ``numpy==1; python_version<'3.9'`` and
    ``numpy==2; python_version>='3.9'`` are two keys)."""
    name = re.split(r"[\[<>=!~;@ ]", canonical, maxsplit=1)[0]
    marker = canonical.split(";", 1)[1].strip() if ";" in canonical else ""
    return f"{name}; {marker}" if marker else name


def is_pinned_requirement(canonical: str) -> bool:
    """True when the requirement allows one version only (R16): a single
    ``==`` without wildcard, a ``===``, or a URL that names one artifact
    (a file URL, or a VCS URL at a full commit id)."""
    req = Requirement(canonical)
    if req.url:
        return not req.url.startswith(("git+", "hg+", "svn+", "bzr+")) or bool(
            _VCS_COMMIT.search(req.url)
        )
    specs = list(req.specifier)
    return len(specs) == 1 and (
        specs[0].operator == "===" or (specs[0].operator == "==" and "*" not in specs[0].version)
    )


def suggest_requirement(text: str) -> str | None:
    """A valid requirement the user probably meant, or None.

    Handles conda-style pins (``numpy=1.26.4``), a space instead of ``==``
    (``numpy 1.26.4``), URLs with ``#egg=`` (``name @ url``) and ranges
    missing their comma (``numpy>=1.0<2``).
    """
    t = text.strip()
    candidates: list[str] = []
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?)\s*=\s*([^=<>!~\s]+)", t)
    if m:
        candidates.append(f"{m.group(1)}=={m.group(2)}")
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s+v?(\d[^\s]*)", t)
    if m:
        candidates.append(f"{m.group(1)}=={m.group(2)}")
    egg = _EGG.search(t)
    if egg and "://" in t:
        candidates.append(f"{egg.group(1)} @ {t[: egg.start()]}")
    if re.search(r"\d[<>]", t):
        candidates.append(re.sub(r"(\d)([<>])", r"\1,\2", t))
    for c in candidates:
        try:
            return canonical_requirement(c)
        except InvalidRequirement:
            continue
    return None


def canonical_option(name: str, value: str | None) -> str:
    """``--long-name value`` (or ``--flag``)."""
    return f"{name} {value}" if value is not None else name


def _split_option(text: str) -> tuple[str, str | None]:
    if text.startswith("--") and "=" in text.split()[0]:
        name, value = text.split("=", 1)
        return name, value.strip() or None
    parts = text.split(None, 1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else None)


def _looks_local(text: str) -> bool:
    if "@" in text and "://" in text:  # a direct reference: `name @ <url>`
        return text.split("@", 1)[1].strip().startswith("file:")
    return text.startswith((".", "/", "~", "file:")) or text.endswith((".whl", ".tar.gz", ".zip"))


def parse_pip_line(text: str, path: str) -> PipLine:
    """Classify and canonicalise one pip list entry found at ``path``.

    Comments must already be stripped. Local paths and editable installs are
    refused: their content is not part of the hash, so two different images
    would share one hash.
    """
    t = text.strip()
    if not t:
        return PipLine(problem=Problem(path, "empty pip entry", "remove the line"))
    if t.startswith("-"):
        name, value = _split_option(t)
        if name in _INCLUDE_OPTIONS:
            if not value:
                return PipLine(problem=Problem(path, f"'{t}' needs a file name"))
            return PipLine(include=(_INCLUDE_OPTIONS[name], value))
        if name in ("-e", "--editable"):
            return PipLine(
                problem=Problem(
                    path,
                    f"'{t}': editable installs are not supported in images",
                    "install a released version or a URL instead",
                )
            )
        if name in _VALUE_OPTIONS:
            if not value:
                return PipLine(problem=Problem(path, f"'{t}' needs a value"))
            return PipLine(option=canonical_option(_VALUE_OPTIONS[name], value))
        if name in _FLAG_OPTIONS:
            if value:
                return PipLine(problem=Problem(path, f"'{name}' takes no value"))
            return PipLine(option=name)
        return PipLine(
            problem=Problem(
                path,
                f"'{name}' is not a supported pip option",
                "supported: " + ", ".join(sorted({*_VALUE_OPTIONS.values(), *_FLAG_OPTIONS})),
            )
        )
    if _looks_local(t):
        return PipLine(
            problem=Problem(
                path,
                f"'{t}' is a local path: its content would not be part of the hash",
                "publish the package to an index, or use 'name @ https://...'",
            )
        )
    try:
        return PipLine(requirement=canonical_requirement(t))
    except InvalidRequirement:
        pass
    fix = suggest_requirement(t)
    if fix:
        return PipLine(
            problem=Problem(path, f"'{t}' is not a valid pip requirement", f"did you mean '{fix}'?")
        )
    return PipLine(
        problem=Problem(
            path,
            f"'{t}' is not a valid pip requirement",
            "write it as PEP 508, e.g. 'numpy==1.26.4'",
        )
    )
