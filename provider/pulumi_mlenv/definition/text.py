"""Canonical text of Dockerfile fragments and URLs that reach the hash.

Whitespace that Docker ignores (line endings, trailing spaces, blank lines at
the ends) is cosmetic; everything else is kept byte for byte, because inside a
shell command or a heredoc it may matter. URL credentials are not identity:
rotating a token must not rebuild every image, and secrets must not be shown.
"""

from __future__ import annotations

import re

from pulumi_mlenv.errors import URL_USERINFO

__all__ = [
    "canonical_dockerfile",
    "canonical_step",
    "dockerfile_problem",
    "has_url_credentials",
    "redact_url_credentials",
]


def canonical_step(text: str) -> str:
    """One custom Docker step: CRLF -> LF, trailing spaces of each line and
    blank lines at both ends removed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n").strip()


def canonical_dockerfile(text: str) -> str:
    """A whole Dockerfile: same rules as a step, plus one final newline."""
    return canonical_step(text) + "\n"


def redact_url_credentials(text: str, replacement: str = "") -> str:
    """``https://user:token@host/x`` -> ``https://host/x`` (or with
    ``replacement`` + ``@`` kept, e.g. ``***``)."""
    if "://" not in text:
        return text
    return URL_USERINFO.sub(f"://{replacement}@" if replacement else "://", text)


def has_url_credentials(text: str) -> bool:
    """Whether ``text`` holds a URL with ``user[:password]@``."""
    return "://" in text and "@" in text and URL_USERINFO.search(text) is not None


#: Control characters no Dockerfile text holds (tab and line breaks aside):
#: BuildKit would refuse them mid-build, after the definition was accepted.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FROM_LINE = re.compile(r"^\s*FROM\s", re.IGNORECASE | re.MULTILINE)


def dockerfile_problem(text: str, *, whole: bool = True) -> tuple[str, str] | None:
    """What is wrong with Dockerfile text (a base Dockerfile, or one step
    when not ``whole``), as (message, fix); None when nothing is."""
    found = _BINARY.search(text)
    if found:
        return (
            f"holds the control character {found.group()!r} (not Dockerfile text)",
            "save it as text",
        )
    if whole and not _FROM_LINE.search(text):
        return "has no FROM instruction", "start it FROM its base image (FROM python:3.11-slim)"
    return None
