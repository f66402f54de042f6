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
import shlex
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.definition.url_requirements import (
    VCS_PREFIXES,
    bare_url_key,
    canonical_bare_url,
    is_bare_url,
    url_is_pinned,
)
from pulumi_mlenv.errors import Problem

__all__ = [
    "PipLine",
    "canonical_option",
    "canonical_requirement",
    "clear_cache",
    "fast_canonical",
    "is_pinned_requirement",
    "parse_pip_entry",
    "parse_pip_line",
    "requirement_key",
    "split_option_line",
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
# Install-time checks that do not change what is installed (like ``--hash``,
# which the file readers drop): accepted and left out of the definition.
_DROPPED_OPTIONS = {"--require-hashes"}
_INCLUDE_OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
_VCS_PREFIXES = VCS_PREFIXES
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz")
_EGG = re.compile(r"#egg=([A-Za-z0-9._-]+)")


@dataclass(frozen=True, slots=True)
class PipLine:
    """One line of a pip list, classified.

    Exactly one of ``requirement`` (canonical PEP 508), ``option`` (canonical
    option line) or ``include`` (``("-r" | "-c", path)``) is set, unless
    ``problem`` is set, in which case none is. None is set either for an
    option that is accepted and dropped (``--require-hashes``).
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


#: The release length an exact pin is written with: ``==2.0`` and ``==2.0.0``
#: are one version (PEP 440 pads releases with zeros), so they must be one
#: text. Three numbers is how most projects write their versions, so most
#: pins keep the text they had (see docs/hash.md).
_PIN_RELEASE = 3
_PLAIN_RELEASE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")


def _pin_version(version: str) -> str:
    """The one spelling of an exact version: PEP 440 normalised, release
    padded with zeros to three numbers, zeros beyond the third dropped."""
    if _PLAIN_RELEASE.fullmatch(version):  # the common case, without a PEP 440 parse
        numbers = version.split(".")
        while len(numbers) > _PIN_RELEASE and numbers[-1] == "0":
            numbers.pop()
        return ".".join(numbers + ["0"] * (_PIN_RELEASE - len(numbers)))
    try:
        v = Version(version)
    except InvalidVersion:
        return version
    release = list(v.release)
    while len(release) > _PIN_RELEASE and release[-1] == 0:
        release.pop()
    release += [0] * (_PIN_RELEASE - len(release))
    out = f"{v.epoch}!" if v.epoch else ""
    out += ".".join(str(n) for n in release)
    if v.pre is not None:
        out += f"{v.pre[0]}{v.pre[1]}"
    if v.post is not None:
        out += f".post{v.post}"
    if v.dev is not None:
        out += f".dev{v.dev}"
    if v.local is not None:
        out += f"+{v.local}"
    return out


def _specifier_text(operator: str, version: str) -> str:
    """One specifier in canonical form: ``===`` byte-exact (PEP 440), exact
    pins (``==``, ``!=`` without wildcard) in their one spelling, the rest
    PEP 440 normalised (``~=1.4`` and ``~=1.4.0`` differ, so they are kept)."""
    if operator == "===":
        return operator + version
    if operator in ("==", "!=") and "*" not in version:
        return operator + _pin_version(version)
    return operator + _canonical_version(version)


# Already canonical and common: ``name==1.2.3`` with a PEP 503 name and a
# normalised release. Returned as is, without a full PEP 508 parse.
_SIMPLE_PIN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*==(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*)){2}")
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
        specs.add(op + version + star if star else _specifier_text(op, version))
    return out + ",".join(sorted(specs))


def _canonicalise(text: str) -> str:
    if is_bare_url(text):  # pip names it when it fetches it; we keep the URL
        try:
            return canonical_bare_url(text)
        except ValueError as err:
            raise InvalidRequirement(str(err)) from None
    req = Requirement(text.strip())
    out: str = canonicalize_name(req.name)
    if req.extras:
        out += "[" + ",".join(sorted({canonicalize_name(e) for e in req.extras})) + "]"
    if req.url:
        out += f" @ {req.url}"
        if req.marker is not None:
            out += " "
    else:
        specs = sorted({_specifier_text(s.operator, s.version) for s in req.specifier})
        out += ",".join(specs)
    if req.marker is not None:
        out += f"; {req.marker}"
    return out


_NAME_END = re.compile(r"[\[<>=!~;@ ]")
_URL_MARKER = re.compile(r"\s;")
_PER_REQUIREMENT = re.compile(r"\s(--?[A-Za-z][\w-]*)")


def requirement_key(canonical: str) -> str:
    """The part of a canonical requirement that names *what* is installed:
    the name plus the marker (so ``numpy==1; python_version<'3.9'`` and
    ``numpy==2; python_version>='3.9'`` are two keys). A bare URL is named
    by its repository or archive."""
    if is_bare_url(canonical):
        return bare_url_key(canonical)
    name = _NAME_END.split(canonical, maxsplit=1)[0]
    marker = canonical.split(";", 1)[1].strip() if ";" in canonical else ""
    return f"{name}; {marker}" if marker else name


def is_pinned_requirement(canonical: str) -> bool:
    """True when the requirement allows one artifact only (unpinned packages are locked): a single
    ``==`` without wildcard, a ``===``, a VCS URL at a full commit id, or an
    archive URL carrying its digest (``#sha256=...``). A VCS branch or tag,
    or an archive URL without a digest, can change under the same text."""
    if is_bare_url(canonical):
        return url_is_pinned(_split_marker(canonical)[0])
    req = Requirement(canonical)
    if req.url:
        return url_is_pinned(req.url)
    specs = list(req.specifier)
    return len(specs) == 1 and (
        specs[0].operator == "===" or (specs[0].operator == "==" and "*" not in specs[0].version)
    )


def _split_marker(text: str) -> tuple[str, str]:
    """``(head, marker)`` of a pip line. pip splits a URL's marker at a
    ``;`` after a space (a URL may contain ``;``), other lines at the first ``;``."""
    if "://" in text:
        m = _URL_MARKER.search(text)
        if m is None:
            return text, ""
        return text[: m.start()].strip(), text[m.end() :].strip()
    head, _, marker = text.partition(";")
    return head.strip(), marker.strip()


def _with_marker(text: str, marker: str) -> str:
    return f"{text} ; {marker}" if marker else text


def suggest_requirement(text: str) -> str | None:
    """A valid requirement the user probably meant (as they would write it), or None.

    Handles conda-style pins (``numpy=1.26.4``), a space instead of ``==``
    (``numpy 1.26.4``), URLs with ``#egg=`` (``name @ url``) and ranges
    missing their comma (``numpy>=1.0<2``). The marker, if any, is set aside
    first, so a line gets the same hint with or without one.
    """
    t, marker = _split_marker(text.strip())
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
        written = _with_marker(c, marker)
        try:
            canonical_requirement(written)
        except InvalidRequirement:
            continue
        return written  # as the user would write it: their version spelling
    return None


def _url_name(url: str) -> str | None:
    """The project name a bare URL installs, as pip finds it without
    downloading: ``#egg=name``, else the wheel or sdist file name."""
    egg = _EGG.search(url)
    if egg:
        return egg.group(1)
    if url.startswith(_VCS_PREFIXES):
        return None
    filename = url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if filename.endswith(_SDIST_SUFFIXES):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _without_egg(url: str) -> str:
    """The URL without its ``egg=`` fragment part (the name moves before ``@``)."""
    base, sep, fragment = url.partition("#")
    if not sep:
        return url
    kept = [p for p in fragment.split("&") if p and not p.startswith("egg=")]
    return base + ("#" + "&".join(kept) if kept else "")


def _bare_url(text: str, path: str) -> PipLine:
    """A line that is only a URL (``https://.../pkg-1.0-py3-none-any.whl``,
    ``git+https://host/org/repo@v1.2#egg=pkg``), as ``name @ URL``."""
    url, marker = _split_marker(text)
    if url.startswith("file:"):
        return _local(text, path)
    name = _url_name(url)
    try:
        if name is None:  # as pip takes it: named from the lock after the build
            return PipLine(requirement=canonical_requirement(_with_marker(url, marker)))
        return PipLine(
            requirement=canonical_requirement(_with_marker(f"{name} @ {_without_egg(url)}", marker))
        )
    except InvalidRequirement as err:
        return PipLine(problem=Problem(path, f"'{text}' is not a valid pip requirement: {err}"))


def _local(text: str, path: str) -> PipLine:
    return PipLine(
        problem=Problem(
            path,
            f"'{text}' is a local path: its content would not be part of the hash",
            "publish the package to an index, or use 'name @ https://...'",
        )
    )


def canonical_option(name: str, value: str | None) -> str:
    """``--long-name value`` (or ``--flag``)."""
    return f"{name} {value}" if value is not None else name


def _split_option(text: str) -> tuple[str, str | None]:
    if text.startswith("--") and "=" in text.split()[0]:
        name, value = text.split("=", 1)
        return name, value.strip() or None
    parts = text.split(None, 1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else None)


def split_option_line(text: str) -> list[str]:
    """The options of one line, one per item: pip reads several on a line
    (``--pre --extra-index-url URL``). A value is the next word unless given
    as ``--name=value``. Lines that are not options come back whole."""
    t = text.strip()
    if not t.startswith("-"):
        return [t]
    if "'" not in t and '"' not in t and "\\" not in t:
        words = t.split()  # what shlex gives without quotes, much cheaper
    else:
        try:
            words = shlex.split(t)
        except ValueError:  # an unbalanced quote: let the one-option parser report it
            return [t]
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        takes_value = (
            word in _VALUE_OPTIONS or word in _INCLUDE_OPTIONS or word in ("-e", "--editable")
        )
        if takes_value and i + 1 < len(words):
            out.append(f"{word} {words[i + 1]}")
            i += 2
        else:
            out.append(word)
            i += 1
    return out


def parse_pip_entry(text: str, path: str) -> list[PipLine]:
    """``parse_pip_line`` for each option of a line holding several, else for the line."""
    return [parse_pip_line(part, path) for part in split_option_line(text)]


def _looks_local(text: str) -> bool:
    if "@" in text and "://" in text:  # a direct reference: `name @ <url>`
        return text.split("@", 1)[1].strip().startswith("file:")
    if "://" in text:
        return False
    return text.startswith((".", "/", "~", "file:")) or _split_marker(text)[0].endswith(
        (".whl", *_SDIST_SUFFIXES)
    )


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A line that can only be a requirement by name (no URL, path or option):
# when already canonicalised once, it needs no other check.
_PLAIN = re.compile(r"[A-Za-z0-9][^@/\\:]*(?<!\.whl)(?<!\.gz)(?<!\.zip)")


def _option(t: str, path: str) -> PipLine:
    name, value = _split_option(t)
    if name in _INCLUDE_OPTIONS:
        if not value:
            return PipLine(problem=Problem(path, f"'{t}' needs a file name"))
        if _URL.match(value):
            kind = "requirement" if _INCLUDE_OPTIONS[name] == "-r" else "constraint"
            return PipLine(
                problem=Problem(
                    path,
                    f"'{name} {value}': {kind} files are not fetched from a URL"
                    " (the hash would not cover what it serves)",
                    f"download it next to this file and write '{name} <file>'",
                )
            )
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
    if name in _DROPPED_OPTIONS:
        return PipLine()
    return PipLine(
        problem=Problem(
            path,
            f"'{name}' is not a supported pip option",
            "supported: " + ", ".join(sorted({*_VALUE_OPTIONS.values(), *_FLAG_OPTIONS})),
        )
    )


def parse_pip_line(text: str, path: str) -> PipLine:
    """Classify and canonicalise one pip list entry found at ``path``.

    Comments must already be stripped. Local paths and editable installs are
    refused: their content is not part of the hash, so two different images
    would share one hash. A bare URL becomes ``name @ URL``. Install-time
    checks (``--require-hashes``) give a line with nothing set.
    """
    t = text.strip()
    cached = _CACHE.get(t)
    if cached is not None and _PLAIN.fullmatch(t):  # seen and valid, no URL, path or option
        return PipLine(requirement=cached)
    if not t:
        return PipLine(problem=Problem(path, "empty pip entry", "remove the line"))
    if t.startswith("-"):
        return _option(t, path)
    if _looks_local(t):
        return _local(t, path)
    if _URL.match(t):
        return _bare_url(t, path)
    per_requirement = _PER_REQUIREMENT.search(_split_marker(t)[0])
    if per_requirement:
        return PipLine(
            problem=Problem(
                path,
                f"'{t}': per-requirement option '{per_requirement.group(1)}' is not supported",
                "remove it (build options are not part of the hash)",
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
