"""What is known about one environment image (``mlenv env image``): found
by image hash, definition hash, ``NAME[:VERSION]`` or reference, read from
the workspace and the registry, never built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    compute_hash,
)
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.images import ENV_REPOSITORY
from pulumi_mlenv.service.outside import Outside

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import EnvironmentStore

__all__ = ["ImageDetails", "gone_note", "image_details"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageDetails:
    """What is known about one environment image.

    Registry facts (digest, size, created, labels) come from the registry;
    the Dockerfile, lock and versions from the workspace, when it recorded
    the image (otherwise empty). ``versions`` lists ``name:version`` entries
    mapping to the image's hash.
    """

    registry: str
    repository: str
    digest: str
    env_hash: str | None
    size: int | None
    created: str | None
    base_image: str | None
    base_digest: str | None
    dockerfile: str | None
    lock: tuple[str, ...]
    versions: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    #: The latest ``mlenv image verify`` of this digest (a
    #: ``workspace.VerificationRecord``), or None when never verified.
    verification: Any = None
    #: When the workspace recorded the build (a reproducible image's own
    #: creation date is fixed to the epoch), or None when it did not.
    recorded_at: str | None = None

    @property
    def image(self) -> str:
        """The reference by digest."""
        return f"{self.registry.split('/', 1)[0]}/{self.repository}@{self.digest}"


def _query_target(
    query: str, settings: Settings, store: EnvironmentStore | None, io: Outside
) -> tuple[str, str, str]:
    """(registry address, repository, reference) that ``query`` names."""
    from pulumi_mlenv.registry import ImageRef

    text = query.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return _find_hash(text, settings, store, io)
    if "/" in text or "@" in text:
        ref = ImageRef.parse(text)
        return ref.registry, ref.repository, ref.digest or ref.tag or "latest"
    name, _, version = text.partition(":")
    if store is None:
        raise MlenvError(f"looking up {query}: environment versions need a workspace")
    record = store.get_version(name, version or None)
    if record is None:
        raise MlenvError(f"no environment version {query} in the workspace")
    ref = ImageRef.parse(record.image)
    return ref.registry, ref.repository, ref.digest or ref.tag or "latest"


def _find_hash(
    text: str, settings: Settings, store: EnvironmentStore | None, io: Outside
) -> tuple[str, str, str]:
    """Where the image of a hash is: an image hash tagged in the workspace
    registry, the global one, or any namespace of them; else a definition
    hash or image hash of a version the workspace registered."""
    from pulumi_mlenv.registry import ImageRef

    for address in filter(None, (settings.registry, settings.global_registry)):
        with io.registry(address, settings) as client:
            repository = client.repository_for(ENV_REPOSITORY)
            if client.digest_of(repository, text):
                return address, repository, text
    if store is not None:
        for version in store.list_versions(None):
            if version.env_hash == text or _definition_hash(version.definition) == text:
                ref = ImageRef.parse(version.image)
                return ref.registry, ref.repository, ref.digest or ref.tag or text
    for address in filter(None, (settings.registry, settings.global_registry)):
        with io.registry(address, settings) as client:
            for repository in client.repositories():
                if repository.endswith(ENV_REPOSITORY) and client.digest_of(repository, text):
                    return address.split("/", 1)[0], repository, text
    raise MlenvError(
        f"no image for hash {text[:12]}: not an image hash in {settings.registry} "
        "(any namespace), nor a definition hash of a registered version"
    )


def _definition_hash(definition: Mapping[str, Any]) -> str | None:
    """The definition hash of a stored definition; None if it no longer parses."""
    from pulumi_mlenv.definition import parse_definition

    try:
        return compute_hash(parse_definition(definition))
    except MlenvError:
        return None


def gone_note(image: str, settings: Settings, io: Outside) -> str:
    """``: deleted by gc on DATE from workspace W`` when a tombstone in the
    registry says so, else ''."""
    from pulumi_mlenv.service.holds import deletion_of

    note = deletion_of(image, settings=settings, outside=io)
    if note is None:
        return ""
    return f": deleted by gc on {note.created[:10]} from workspace {note.workspace}"


def image_details(
    query: str,
    *,
    settings: Settings,
    workspace: EnvironmentStore | None = None,
    outside: Outside | None = None,
) -> ImageDetails:
    """Details of the image that ``query`` names: a hash (64 hex, looked up
    in the workspace registry), an image reference (tag or digest), or an
    environment ``NAME:VERSION`` / ``NAME`` (latest) from the workspace.
    ``workspace``: an open store, else the settings' workspace is opened for
    the call. Raises ``MlenvError`` when nothing matches, ``RegistryError``
    when the registry cannot answer."""
    io = outside_or_real(outside)
    if workspace is None:
        with io.workspace(settings.workspace_url) as store:
            return image_details(query, settings=settings, workspace=store, outside=io)
    registry, repository, reference = _query_target(query, settings, workspace, io)
    with io.registry(registry, settings) as client:
        info = client.manifest_info(repository, reference)
    if info is None:
        image = reference_text(registry, repository, reference)
        raise MlenvError(f"no image {image} in the registry{gone_note(image, settings, io)}")
    from pulumi_mlenv.imaging.dockerfile import LABEL_PREFIX

    labels = dict(info.labels)
    env_hash = labels.get(f"{LABEL_PREFIX}.hash")
    record = None
    versions: tuple[str, ...] = ()
    if workspace is not None:
        record = workspace.find_image_by_digest(info.digest)
        if env_hash is None and record is not None:
            env_hash = record.env_hash
        if env_hash:
            versions = tuple(f"{v.name}:{v.version}" for v in workspace.versions_for_hash(env_hash))
    return ImageDetails(
        registry=registry,
        repository=repository,
        digest=info.digest,
        env_hash=env_hash,
        size=info.size,
        created=info.created,
        base_image=labels.get("org.opencontainers.image.base.name"),
        base_digest=labels.get("org.opencontainers.image.base.digest"),
        dockerfile=record.dockerfile if record is not None else None,
        lock=tuple(record.lock) if record is not None else (),
        versions=versions,
        labels=tuple(sorted(labels.items())),
        verification=workspace.last_verification(info.digest) if workspace is not None else None,
        recorded_at=(record.recorded_at or None) if record is not None else None,
    )


def reference_text(registry: str, repository: str, reference: str) -> str:
    """``host/repo@sha256:...`` for a digest, ``host/repo:tag`` for a tag."""
    separator = "@" if reference.startswith("sha256:") else ":"
    return f"{registry.split('/', 1)[0]}/{repository}{separator}{reference}"
