"""One pip requirement in its canonical PEP 508 form (``packaging``
parses it): cosmetic differences (``Numpy == 1.26.4`` vs ``numpy==1.26.4``,
``1.26.04`` vs ``1.26.4``, the order of extras or of comma-separated
specifiers) never change the hash. Also its key (the project it names),
whether it is pinned, where its marker starts, and a fix to suggest for a
line that is not one. Pure; a bounded cache keeps repeated lines cheap.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.definition.url_requirements import (
    bare_url_key,
    canonical_bare_url,
    is_bare_url,
    url_is_pinned,
)

__all__ = [
    "EGG",
    "PER_REQUIREMENT",
    "cached",
    "canonical_requirement",
    "clear_cache",
    "fast_canonical",
    "is_pinned_requirement",
    "requirement_key",
    "split_marker",
    "suggest_requirement",
    "with_marker",
]

#: The ``#egg=name`` fragment of a URL: the project it installs.
EGG = re.compile(r"#egg=([A-Za-z0-9._-]+)")


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
PER_REQUIREMENT = re.compile(r"\s(--?[A-Za-z][\w-]*)")


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
        return url_is_pinned(split_marker(canonical)[0])
    req = Requirement(canonical)
    if req.url:
        return url_is_pinned(req.url)
    specs = list(req.specifier)
    return len(specs) == 1 and (
        specs[0].operator == "===" or (specs[0].operator == "==" and "*" not in specs[0].version)
    )


def split_marker(text: str) -> tuple[str, str]:
    """``(head, marker)`` of a pip line. pip splits a URL's marker at a
    ``;`` after a space (a URL may contain ``;``), other lines at the first ``;``."""
    if "://" in text:
        m = _URL_MARKER.search(text)
        if m is None:
            return text, ""
        return text[: m.start()].strip(), text[m.end() :].strip()
    head, _, marker = text.partition(";")
    return head.strip(), marker.strip()


def with_marker(text: str, marker: str) -> str:
    return f"{text} ; {marker}" if marker else text


def suggest_requirement(text: str) -> str | None:
    """A valid requirement the user probably meant (as they would write it), or None.

    Handles conda-style pins (``numpy=1.26.4``), a space instead of ``==``
    (``numpy 1.26.4``), URLs with ``#egg=`` (``name @ url``) and ranges
    missing their comma (``numpy>=1.0<2``). The marker, if any, is set aside
    first, so a line gets the same hint with or without one.
    """
    t, marker = split_marker(text.strip())
    candidates: list[str] = []
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?)\s*=\s*([^=<>!~\s]+)", t)
    if m:
        candidates.append(f"{m.group(1)}=={m.group(2)}")
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s+v?(\d[^\s]*)", t)
    if m:
        candidates.append(f"{m.group(1)}=={m.group(2)}")
    egg = EGG.search(t)
    if egg and "://" in t:
        candidates.append(f"{egg.group(1)} @ {t[: egg.start()]}")
    if re.search(r"\d[<>]", t):
        candidates.append(re.sub(r"(\d)([<>])", r"\1,\2", t))
    for c in candidates:
        written = with_marker(c, marker)
        try:
            canonical_requirement(written)
        except InvalidRequirement:
            continue
        return written  # as the user would write it: their version spelling
    return None


def cached(text: str) -> str | None:
    """The canonical form of ``text`` when it was canonicalised already."""
    return _CACHE.get(text)
