"""The outside world as the use cases see it: small typed interfaces.

The service talks to registries, the image builder, base-tag resolution,
the workspace store and compute targets only through these, picked in one
place (``Backends``). ``service.backends.real_backends()`` gives the real
ones; tests give in-memory ones (``tests/support/fakes.py``) to drive every
decision of the resources without a daemon, the way pulumi-docker-build
tests its provider against a fake client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self

if TYPE_CHECKING:
    from pulumi_mlenv.compute import ComputeTarget
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.registry import ManifestInfo
    from pulumi_mlenv.registry.referrers import Referrer
    from pulumi_mlenv.workspace import Workspace

__all__ = ["ArtifactRegistry", "Backends", "BuildFn", "ImageRegistry", "ResolveBaseFn"]


class ImageRegistry(Protocol):
    """One OCI registry, by address ``host[:port][/namespace]``."""

    host: str

    def repository_for(self, name: str) -> str:
        """``name`` under the registry's namespace."""
        ...

    def digest_of(self, repository: str, reference: str) -> str | None:
        """The manifest digest a tag or digest names; None when absent."""
        ...

    def manifest_info(self, repository: str, reference: str) -> ManifestInfo | None:
        """Size, creation time and labels of an image; None when absent."""
        ...

    def repositories(self, limit: int = 10_000) -> list[str]:
        """Repository names the registry lists (empty when it lists none)."""
        ...

    def read_file(
        self, repository: str, info: ManifestInfo, path: str, *, max_layer_bytes: int
    ) -> bytes | None:
        """A file's content from the image's layers (small layers only)."""
        ...

    def ping(self) -> None:
        """Raise ``RegistryError`` unless the registry answers (with the login)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any: ...


class ArtifactRegistry(ImageRegistry, Protocol):
    """A registry that also moves raw manifests and blobs, and attaches and
    lists referrers (SBOMs, provenance): ``registry.referrers.ReferrersClient``."""

    def raw_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes] | None:
        """``(digest, media type, bytes)`` of a manifest as stored; None when absent."""
        ...

    def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> tuple[str, bool]:
        """Store a manifest under a tag or digest."""
        ...

    def blob(self, repository: str, digest: str) -> bytes:
        """A (small) blob's bytes, checked."""
        ...

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has the blob."""
        ...

    def push_blob(self, repository: str, data: bytes | Path, digest: str | None = None) -> str:
        """Upload a blob (bytes or a file) unless present; its digest."""
        ...

    def blob_to_file(self, repository: str, digest: str, path: Path) -> int:
        """Stream a blob into a file; its size."""
        ...

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        """A stream of a blob's bytes."""
        ...

    def attach(
        self,
        repository: str,
        subject: Mapping[str, Any],
        *,
        artifact_type: str,
        payload: bytes,
        media_type: str,
        annotations: Mapping[str, str],
    ) -> Referrer:
        """Attach an artifact to an image as an OCI referrer."""
        ...

    def referrers(
        self,
        repository: str,
        digest: str,
        artifact_type: str | None = None,
        *,
        prefer_tag: bool = False,
    ) -> list[Referrer]:
        """An image's referrers."""
        ...

    def add_to_index(self, repository: str, subject: str, referrer: Referrer) -> None:
        """List a stored referrer manifest in the image's referrers tag."""
        ...

    def artifact(self, repository: str, referrer: Referrer) -> tuple[str, bytes]:
        """``(media type, bytes)`` of a referrer's artifact."""
        ...


#: Runs one image build and pushes it: ``build(plan, progress=...)``.
BuildFn = Callable[..., "BuiltImage"]
#: The digest a base image reference resolves to now (tag -> digest).
ResolveBaseFn = Callable[[str, "Settings"], str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backends:
    """Factories of everything outside the process, chosen in one place.

    Each use case asks for one client per operation and closes it: a Pulumi
    provider is pickled, so it must never hold one.
    """

    #: A registry client for an address, with the settings' login for it.
    registry: Callable[[str, Settings], ImageRegistry]
    #: The image builder (BuildKit in production).
    build: Callable[[ImageBuild, Callable[[StepEvent], None] | None], BuiltImage]
    #: Tag -> digest of base images.
    resolve_base: ResolveBaseFn
    #: The workspace store for a URL, opened (close it, or use ``with``).
    store: Callable[[str], Workspace]
    #: A compute target by kind and URL (not contacted until ``check``).
    compute: Callable[[str, str | None], ComputeTarget]
    #: A registry client that moves blobs and referrers (SBOMs, provenance,
    #: bundles); None: no supply-chain artifacts (in-memory test backends).
    artifacts: Callable[[str, Settings], ArtifactRegistry] | None = None
