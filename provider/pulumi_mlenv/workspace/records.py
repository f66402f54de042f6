"""The values a workspace stores and returns: frozen, plain, no database types.

Timestamps are ISO 8601 strings in UTC (``2024-05-01T12:00:00.123456+00:00``)
so records compare, print and serialise the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pulumi_mlenv.errors import MlenvError

__all__ = [
    "ComputeTargetRecord",
    "Holder",
    "ImageRecord",
    "LayerHistory",
    "LayerRecord",
    "VerificationRecord",
    "VersionConflict",
    "VersionRecord",
    "canonical_json",
    "now",
]


def now() -> str:
    """The current time as stored: ISO 8601, UTC, microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical_json(definition: Mapping[str, Any]) -> str:
    """A definition as the version store compares it (the SQLAlchemy stores
    and the standard library's fast read alike)."""
    # Tuples and lists, key order: both compare equal after a JSON round trip.
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)


class VersionConflict(MlenvError):
    """An explicit environment version is already registered with another hash
    (versions are immutable: give a new version, or none to get the next)."""

    def __init__(self, name: str, version: str, registered_hash: str, new_hash: str) -> None:
        self.name = name
        self.version = version
        self.registered_hash = registered_hash
        self.new_hash = new_hash
        super().__init__(
            f"environment '{name}' version {version} is already registered with hash "
            f"{registered_hash}; this definition has hash {new_hash}: give a new version, "
            "or leave the version unset to get the next number"
        )


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image built (or found) for a hash, in one registry.

    ``repository`` is the full path in ``registry`` (``team-a/mlenv/env``);
    ``digest`` the manifest digest; ``size`` bytes (config + compressed
    layers); ``created`` the image's creation time as the registry reports
    it. ``base_digest`` is the resolved base image (a base tag is resolved to a digest), ``None``
    for a base
    Dockerfile. ``lock`` holds ``name==version`` lines of what step 2
    installed (unpinned packages are locked). ``forced`` marks a rebuild asked for by the user (an
    explicit forced rebuild).
    ``recorded_at`` is filled by ``Workspace.record_image``.
    """

    env_hash: str
    registry: str
    repository: str
    digest: str
    size: int
    created: str
    base_image: str | None
    base_digest: str | None
    dockerfile: str
    lock: tuple[str, ...] = ()
    build_seconds: float = 0.0
    forced: bool = False
    recorded_at: str = ""
    deleted_at: str | None = None

    @property
    def image(self) -> str:
        """The image by digest: ``registry/repository@sha256:...``."""
        return f"{self.registry}/{self.repository}@{self.digest}"


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One registered environment version (registered on first use).

    ``version`` is a string: ``"1"``, ``"2"``... when numbered by the
    workspace, or any label the user gave. ``image`` is the image by digest.
    ``definition`` is the definition as the resource layer serialised it.
    ``tags`` and ``environment_variables`` are ``(key, value)`` pairs in the
    given order; variable values are stored as given (the resource layer
    marks secret ones, never passes secrets here).

    ``archived_at`` is set when the last holder let go: the version is
    hidden from default listings but still resolvable and explained.
    ``holders`` lists ``kind:id`` of who holds it (``stack:project/dev``).
    """

    name: str
    version: str
    env_hash: str
    image: str
    definition: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    environment_variables: tuple[tuple[str, str], ...] = ()
    created_at: str = ""
    archived_at: str | None = None
    holders: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    @property
    def status(self) -> str:
        """``active`` or ``archived``."""
        return "archived" if self.archived_at else "active"

    @property
    def digest(self) -> str:
        """The manifest digest of ``image`` (empty when it names none)."""
        return self.image.rpartition("@")[2] if "@" in self.image else ""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a version: ``kind`` is ``stack`` (id ``project/stack``),
    ``run``, ``deployment`` or any other word; ``id`` is unique within it."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if not self.kind.strip() or not self.id.strip():
            raise MlenvError(f"a holder needs a kind and an id (got {self.kind!r}, {self.id!r})")

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def stack(cls, project_stack: str) -> Holder:
        """The holder for a Pulumi stack, ``project/stack``."""
        return cls("stack", project_stack)


@dataclass(frozen=True, slots=True)
class ComputeTargetRecord:
    """A named compute target: ``kind`` (``local``, ``docker``) and its URL, if any."""

    name: str
    kind: str
    url: str | None
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """One ``mlenv image verify`` of an image: it was rebuilt from its
    recorded definition and lock, without any cache, on ``builder``.

    ``digest`` is the verified image's manifest digest, ``rebuilt_digest``
    what the rebuild gave; ``identical`` when they are equal. ``summary``
    names the differing layers and steps in one line (empty when
    identical). ``verified_at`` is filled by ``Workspace.record_verification``.
    Images cannot carry this in a label (a label changes the digest): the
    workspace keeps it, and the rebuild stays in the registry under the tag
    ``verify-<hash>``.
    """

    digest: str
    env_hash: str
    builder: str
    identical: bool
    rebuilt_digest: str
    summary: str = ""
    verified_at: str = ""


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One layer of a built image (``imaging.layer_plan``): ``key`` names its
    content, ``slot`` what it holds; ``size`` is compressed bytes as pushed;
    ``seconds`` its build step's time, None when BuildKit had it cached."""

    slot: str
    key: str
    digest: str | None
    size: int | None
    seconds: float | None


@dataclass(frozen=True, slots=True)
class LayerHistory:
    """What the workspace's past builds say about some layers.

    ``by_key``: the last record of each key asked that has a digest;
    ``key_seconds``: the last build time of each key; ``by_slot``: the last
    record of each slot asked, and ``slot_seconds`` the last build time in
    each (not cached): the estimates for a key never built; ``overhead``:
    of the last build with layer records, the seconds not spent building
    its layers (resolving, exporting, pushing); ``builds``: how many images
    this workspace recorded layers of.
    """

    by_key: dict[str, LayerRecord] = field(default_factory=dict)
    key_seconds: dict[str, float] = field(default_factory=dict)
    by_slot: dict[str, LayerRecord] = field(default_factory=dict)
    slot_seconds: dict[str, float] = field(default_factory=dict)
    overhead: float | None = None
    builds: int = 0
