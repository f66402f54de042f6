"""Image references (``registry/repository:tag@digest``), parsed and printed.

The grammar is Docker's (distribution/reference): the first path component is
a registry when it has a ``.`` or a ``:`` or is ``localhost``; otherwise the
image lives on Docker Hub (``docker.io``), where a one-component repository is
under ``library/`` (``python`` -> ``docker.io/library/python``). Repository
components are lowercase; a tag is at most 128 word characters, dots and
dashes; a digest is ``algorithm:hex`` (``sha256`` with 64 hex digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pulumi_mlenv.errors import MlenvError, RegistryError

__all__ = ["DOCKER_HUB", "ImageRef", "InvalidImageRef", "split_address"]

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")
_HOST = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)


class InvalidImageRef(MlenvError, ValueError):
    """An image reference that does not follow ``[registry/]repository[:tag][@digest]``."""


def _check_digest(digest: str, ref: str) -> str:
    if not _DIGEST.fullmatch(digest) or (
        digest.startswith("sha256:") and not _SHA256.fullmatch(digest)
    ):
        raise InvalidImageRef(
            f"invalid digest {digest!r} in image reference {ref!r}: "
            "expected sha256: followed by 64 lowercase hex digits"
        )
    return digest


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference.

    ``registry`` is ``host[:port]`` (``docker.io`` for Docker Hub);
    ``repository`` is the full path inside it (``library/python``); ``tag``
    and ``digest`` may each be absent. When both are present the digest wins
    (that is what engines pull). ``str()`` prints the fully qualified form,
    which parses back to an equal value.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        """Parse ``ref``; raise ``InvalidImageRef`` (a ``ValueError``) naming the bad part.

        Edge cases: no tag and no digest leaves both ``None`` (engines read
        that as ``latest``); ``index.docker.io`` becomes ``docker.io``.
        """
        text = ref.strip()
        if not text or any(c.isspace() for c in text):
            raise InvalidImageRef(f"invalid image reference {ref!r}: empty or contains spaces")
        name, _, digest = text.partition("@")
        if "@" in digest:
            raise InvalidImageRef(f"invalid image reference {ref!r}: more than one '@'")
        digest_value = _check_digest(digest, ref) if digest else None
        tag: str | None = None
        last_slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > last_slash:
            name, tag = name[:colon], name[colon + 1 :]
            if not _TAG.fullmatch(tag):
                raise InvalidImageRef(
                    f"invalid tag {tag!r} in image reference {ref!r}: "
                    "use letters, digits, '_', '.' and '-' (at most 128, not starting with . or -)"
                )
        first, sep, rest = name.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
            if not _HOST.fullmatch(registry):
                raise InvalidImageRef(f"invalid registry {registry!r} in image reference {ref!r}")
        else:
            registry, repository = DOCKER_HUB, name
        if registry.lower() in _HUB_ALIASES:
            registry = DOCKER_HUB
            if repository and "/" not in repository:
                repository = f"library/{repository}"
        bad = [c for c in repository.split("/") if not _COMPONENT.fullmatch(c)]
        if not repository or bad:
            what = repr(bad[0]) if bad and bad[0] else "(empty)"
            raise InvalidImageRef(
                f"invalid repository name {what} in image reference {ref!r}: "
                "use lowercase letters, digits and separators (., _, __, -) between them"
            )
        return cls(registry=registry, repository=repository, tag=tag, digest=digest_value)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def is_pinned(self) -> bool:
        """True when the reference carries a digest (it cannot move)."""
        return self.digest is not None

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest if any, else the tag, else ``latest``."""
        return self.digest or self.tag or "latest"

    def by_digest(self, digest: str) -> ImageRef:
        """The same repository addressed by ``digest`` alone (the tag is dropped:
        a digest reference is the identity, a tag is only an index)."""
        return replace(self, tag=None, digest=_check_digest(digest, f"{self.name}@{digest}"))

    def with_tag(self, tag: str) -> ImageRef:
        """The same repository addressed by ``tag`` alone."""
        return ImageRef.parse(f"{self.name}:{tag}")


def split_address(address: str) -> tuple[str | None, str, str]:
    """``(scheme or None, host[:port], namespace)`` of a registry address
    ``[http[s]://]host[:port][/namespace]``; ``RegistryError`` when it is not one."""
    text = address.strip()
    scheme: str | None = None
    for prefix in ("http://", "https://"):
        if text.startswith(prefix):
            scheme, text = prefix[:-3], text[len(prefix) :]
    host, _, namespace = text.strip("/").partition("/")
    if not host or any(c.isspace() or c in "@?#" for c in text):
        raise RegistryError(
            f"invalid registry address {address!r}: expected host[:port][/namespace]"
        )
    return scheme, host, namespace
