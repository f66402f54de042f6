"""Pip list entries: each line classified (a requirement, an option, an
include, or a problem naming the fix) and canonicalised.

A requirement is kept in its canonical PEP 508 form (``definition.pep508``,
re-exported here) so that cosmetic differences never change the hash.
Option lines (``--extra-index-url URL``, ``-i URL``, ``--pre``) are
normalised to their long spelling with one space before the value.

Everything here is pure: ``-r`` / ``-c`` includes are reported as such and
resolved by the file readers (``spec.formats``), never here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pulumi_mlenv.definition.pep508 import (
    EGG,
    PER_REQUIREMENT,
    cached,
    canonical_requirement,
    clear_cache,
    fast_canonical,
    is_pinned_requirement,
    requirement_key,
    split_marker,
    suggest_requirement,
    with_marker,
)
from pulumi_mlenv.definition.url_requirements import VCS_PREFIXES
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


def _url_name(url: str) -> str | None:
    """The project name a bare URL installs, as pip finds it without
    downloading: ``#egg=name``, else the wheel or sdist file name."""
    egg = EGG.search(url)
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
    url, marker = split_marker(text)
    if url.startswith("file:"):
        return _local(text, path)
    name = _url_name(url)
    try:
        if name is None:  # as pip takes it: named from the lock after the build
            return PipLine(requirement=canonical_requirement(with_marker(url, marker)))
        return PipLine(
            requirement=canonical_requirement(with_marker(f"{name} @ {_without_egg(url)}", marker))
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
    return text.startswith((".", "/", "~", "file:")) or split_marker(text)[0].endswith(
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
    seen = cached(t)
    if seen is not None and _PLAIN.fullmatch(t):  # seen and valid, no URL, path or option
        return PipLine(requirement=seen)
    if not t:
        return PipLine(problem=Problem(path, "empty pip entry", "remove the line"))
    if t.startswith("-"):
        return _option(t, path)
    if _looks_local(t):
        return _local(t, path)
    if _URL.match(t):
        return _bare_url(t, path)
    per_requirement = PER_REQUIREMENT.search(split_marker(t)[0])
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
