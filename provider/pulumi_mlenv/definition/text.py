"""Canonical text of Dockerfile fragments and URLs that reach the hash.

Whitespace that Docker ignores (line endings, trailing spaces, blank lines at
the ends) is cosmetic; everything else is kept byte for byte, because inside a
shell command or a heredoc it may matter. URL credentials are not identity:
rotating a token must not rebuild every image, and secrets must not be shown.
"""

from __future__ import annotations

from pulumi_mlenv.errors import URL_USERINFO

__all__ = [
    "canonical_dockerfile",
    "canonical_step",
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
