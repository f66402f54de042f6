"""An image found in a registry that this workspace never recorded (another
team's, a curated one, or one whose recording a kill interrupted after the
push) is recorded when reused, its lock read from the image's own layers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pulumi_mlenv.service.outside import ImageRegistry
from pulumi_mlenv.service.resolved import ResolvedEnvironment

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import EnvironmentStore
    from pulumi_mlenv.workspace import ImageRecord

__all__ = ["adopt"]

#: Layers larger than this are not searched for the lock (it is in a small one).
_LOCK_LAYER_LIMIT = 8 * 1024 * 1024


def adopt(
    store: EnvironmentStore,
    target: ResolvedEnvironment,
    client: ImageRegistry,
    repository: str,
    digest: str,
) -> ImageRecord:
    """Record an image found in a registry, its lock read from its layers."""
    from pulumi_mlenv.imaging.dockerfile import LOCK_PATH
    from pulumi_mlenv.imaging.lock import parse_lock
    from pulumi_mlenv.workspace import ImageRecord

    info = client.manifest_info(repository, digest)
    lock: tuple[str, ...] = ()
    if info is not None and not target.spec.python.user_managed:
        text = client.read_file(repository, info, LOCK_PATH, max_layer_bytes=_LOCK_LAYER_LIMIT)
        lock = parse_lock(text.decode("utf-8", "replace")) if text else ()
    labels = info.labels if info is not None else {}
    return store.record_image(
        ImageRecord(
            env_hash=target.hash,
            registry=client.host,
            repository=repository,
            digest=digest,
            size=info.size if info is not None else 0,
            created=(info.created if info is not None else None)
            or datetime.now(UTC).isoformat(timespec="seconds"),
            base_image=labels.get("org.opencontainers.image.base.name"),
            base_digest=labels.get("org.opencontainers.image.base.digest"),
            dockerfile="",
            lock=lock,
        )
    )
