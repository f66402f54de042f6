"""Requirements that are a URL, with or without a name: what pins them, what
names them, and the warning a moving VCS reference gets. Pure.

pip accepts a line that is only a URL (``git+https://host/org/repo@<commit>``)
and finds the project's name when it fetches it. We cannot fetch while
hashing, so such a line is kept as written (its canonical form is the URL,
then `` ; marker``): it is hashed by URL and commit, and its name comes
from the image's lock after the build (``name @ git+...@<commit>``).
A branch or tag (or no reference: the default branch) is not a pin: the
remote can move it under the same text, and the hash cannot see that.
"""

from __future__ import annotations

import re

from packaging.markers import InvalidMarker, Marker

__all__ = [
    "URL",
    "URL_DIGEST",
    "VCS_COMMIT",
    "VCS_PREFIXES",
    "bare_url_key",
    "canonical_bare_url",
    "is_bare_url",
    "moving_reference",
    "url_is_pinned",
]

URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
# A full commit id: 40 hex digits (git's sha1, hg) or 64 (git's sha256).
VCS_COMMIT = re.compile(r"@(?:[0-9a-f]{40}|[0-9a-f]{64})(?:#|$)")
# An archive URL with its digest: pip and uv check the download against it.
URL_DIGEST = re.compile(r"#(?:.*&)?(?:sha256|sha384|sha512)=[0-9a-fA-F]+")
# pip splits a URL line's marker at a ";" after a space (a URL may hold ";").
_MARKER = re.compile(r"\s;")


def is_bare_url(text: str) -> bool:
    """A requirement that is only a URL (no ``name @``)."""
    return URL.match(text.strip()) is not None


def _split(text: str) -> tuple[str, str]:
    m = _MARKER.search(text)
    if m is None:
        return text.strip(), ""
    return text[: m.start()].strip(), text[m.end() :].strip()


def canonical_bare_url(text: str) -> str:
    """``URL`` or ``URL ; marker`` with the marker as packaging prints it;
    raises ``ValueError`` for a marker that does not parse."""
    url, marker = _split(text)
    if not marker:
        return url
    try:
        return f"{url} ; {Marker(marker)}"
    except InvalidMarker as err:
        raise ValueError(f"invalid marker '{marker}': {err}") from None


def _without_reference(url: str) -> str:
    """The URL without fragment and without a VCS ``@reference``."""
    base = url.split("#", 1)[0]
    if base.startswith(VCS_PREFIXES):
        head, sep, ref = base.rpartition("@")
        if sep and "/" not in ref and "://" in head:
            return head
    return base


def bare_url_key(canonical: str) -> str:
    """What a bare URL line installs, for telling two lines apart: the
    repository or archive (a new commit of the same repository is a
    change of the same package), plus the marker."""
    url, marker = _split(canonical)
    key = "url " + _without_reference(url)
    return f"{key}; {marker}" if marker else key


def url_is_pinned(url: str) -> bool:
    """A VCS URL at a full commit id, or an archive URL with its digest."""
    if url.startswith(VCS_PREFIXES):
        return bool(VCS_COMMIT.search(url))
    return bool(URL_DIGEST.search(url))


def moving_reference(requirement: str) -> str | None:
    """For a VCS requirement (bare, or ``name @ vcs+URL``) that is not at a
    full commit: the warning that its hash cannot see the remote move; None
    for anything else."""
    url = requirement.split(" @ ", 1)[1] if " @ " in requirement else requirement
    url = _split(url)[0]
    if not url.startswith(VCS_PREFIXES) or VCS_COMMIT.search(url):
        return None
    base = url.split("#", 1)[0]
    ref = _without_reference(url)
    what = f"branch or tag '{base[len(ref) + 1 :]}'" if ref != base else "the default branch"
    return (
        f"'{requirement}' follows {what}: the hash covers the text, not the commit"
        " it points to, so a push there changes what a rebuild installs without"
        " changing the hash (the first build's commit is kept in its lock);"
        " pin a full commit id: @<40-hex commit>"
    )
