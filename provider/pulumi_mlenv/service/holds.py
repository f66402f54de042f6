"""Holds every workspace sees, kept in the registry itself
(``registry/holds.py`` says how): a workspace that needs a digest (a run on
it, an active version, a model's lineage) writes its own hold tag in the
image's repository; ``mlenv gc`` from any workspace reads the tags and never
deletes a digest another workspace holds, and leaves a tombstone when it
deletes one. Writing a hold is best effort: a registry that refuses it is
reported in one line, and the image stays protected by this workspace's own
records from its own gc.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, RegistryError
from pulumi_mlenv.registry.holds import (
    EMPTY_CONFIG,
    HOLD_MEDIA_TYPE,
    HoldNote,
    hold_manifest,
    hold_tag,
    note_of,
    tombstone_tag,
)
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import ImageRegistry, Outside

__all__ = [
    "HoldNote",
    "deletion_of",
    "others_holding",
    "publish",
    "release",
    "split_image",
    "tombstone",
    "workspace_id",
]


def workspace_id(workspace_url: str) -> str:
    """A workspace's id in the registry: from its URL without a password
    (two clones' SQLite files, or two databases, are two workspaces)."""
    from pulumi_mlenv.workspace.urls import normalise_url

    url = normalise_url(workspace_url)
    if "@" in url and "://" in url:  # user:password@host: the password is no part of it
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        url = f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return hashlib.sha256(url.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ImagePlace:
    registry: str
    repository: str
    digest: str


def split_image(image: str | None) -> ImagePlace | None:
    """``registry/repository@digest`` as its parts; None without a digest."""
    if not image or "@sha256:" not in image or "/" not in image:
        return None
    name, digest = image.split("@", 1)
    registry, repository = name.split("/", 1)
    return ImagePlace(registry, repository, digest)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _note(client: ImageRegistry, repository: str, tag: str) -> HoldNote | None:
    found = client.manifest(repository, tag)
    return note_of(found[1]) if found else None


def publish(
    image: str | None,
    kind: str,
    *,
    settings: Settings,
    workspace_url: str,
    outside: Outside | None = None,
) -> str | None:
    """Write this workspace's hold on ``image``'s digest (once); returns a
    warning when the registry refused it, else None."""
    place = split_image(image)
    if place is None:
        return None
    me = workspace_id(workspace_url)
    tag = hold_tag(place.digest, me)
    try:
        with outside_or_real(outside).registry(place.registry, settings) as client:
            if client.digest_of(place.repository, tag) is not None:
                return None
            client.put_blob(place.repository, EMPTY_CONFIG)
            body = hold_manifest(place.digest, me, kind, _now())
            client.put_hold_manifest(place.repository, tag, body, HOLD_MEDIA_TYPE)
    except RegistryError as err:
        return f"could not record the hold on {image} in its registry: {err}"
    return None


def release(
    image: str, *, settings: Settings, workspace_url: str, outside: Outside | None = None
) -> bool:
    """Delete this workspace's hold tag on ``image`` (by the hold manifest's
    own digest); True when there was one."""
    place = split_image(image)
    if place is None:
        return False
    tag = hold_tag(place.digest, workspace_id(workspace_url))
    with outside_or_real(outside).registry(place.registry, settings) as client:
        found = client.digest_of(place.repository, tag)
        return found is not None and client.delete_manifest(place.repository, found)


def others_holding(
    client: ImageRegistry, repository: str, digest: str, workspace_url: str
) -> list[HoldNote]:
    """The holds other workspaces keep on ``digest`` in ``repository``."""
    me = workspace_id(workspace_url)
    prefix = hold_tag(digest, "")
    notes = []
    for tag in client.tags(repository):
        if tag.startswith(prefix) and not tag.endswith(f"-{me}"):
            note = _note(client, repository, tag)
            if note is not None and note.digest == digest:
                notes.append(note)
    return notes


def tombstone(client: ImageRegistry, repository: str, digest: str, workspace_url: str) -> None:
    """Record in the registry that gc deleted ``digest`` now, from this workspace."""
    client.put_blob(repository, EMPTY_CONFIG)
    body = hold_manifest(digest, workspace_id(workspace_url), "deleted", _now())
    client.put_hold_manifest(repository, tombstone_tag(digest), body, HOLD_MEDIA_TYPE)


def deletion_of(
    image: str, *, settings: Settings, outside: Outside | None = None
) -> HoldNote | None:
    """The tombstone of ``image``'s digest, when gc deleted it; else None."""
    place = split_image(image)
    if place is None:
        return None
    try:
        with outside_or_real(outside).registry(place.registry, settings) as client:
            note = _note(client, place.repository, tombstone_tag(place.digest))
    except (RegistryError, MlenvError):
        return None
    return note if note is not None and note.digest == place.digest else None
