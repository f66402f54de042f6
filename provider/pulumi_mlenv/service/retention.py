"""Retention (``mlenv gc``): delete from their registries the images that no
active version and no holder uses any more, once older than the retention.

An image (registry, repository, digest recorded in the workspace) may go when
every version that pointed at it is archived, no hold (stack, run,
deployment) names its digest, it is not its hash's current image while an
active version has that hash, and it was last used (recorded, or its last
version archived) more than ``keep_days`` ago. Each digest is checked again
right before its deletion. A registry may be shared by several workspaces:
before deleting a digest, its repository's hold tags are read
(``service/holds.py``) and a digest any other workspace holds is kept,
saying which workspace and holder save it; a deletion leaves a tombstone
tag (when, from which workspace). Each gc also writes this workspace's own
holds for the images it protects, so that the others see them. Deleting a
manifest frees no disk by itself: the registry's garbage collection does
(scripts/registry-gc.sh for the local one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, RegistryError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.records import record_of

__all__ = ["Collectable", "GcReport", "collect", "plan"]


@dataclass(frozen=True, slots=True)
class Collectable:
    """One image retention would delete."""

    registry: str
    repository: str
    digest: str
    size: int
    env_hash: str
    versions: tuple[str, ...]
    last_recorded: str

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


@dataclass(frozen=True, slots=True)
class GcReport:
    """What ``collect`` found and did: ``deleted`` (or would delete, on a dry
    run), ``kept`` (held again since the plan), ``failed`` (image, reason)."""

    dry_run: bool
    keep_days: float
    deleted: tuple[Collectable, ...]
    kept: tuple[Collectable, ...] = ()
    failed: tuple[tuple[Collectable, str], ...] = ()
    #: Images kept because another workspace holds them: (image, who).
    saved: tuple[tuple[Collectable, str], ...] = ()
    #: This workspace's own holders, by digest (they keep their images).
    held: tuple[tuple[str, tuple[str, ...]], ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        """Compressed bytes of the deleted images (shared layers counted in each)."""
        return sum(c.size for c in self.deleted)


def plan(
    workspace_url: str,
    keep_days: float,
    *,
    now: datetime | None = None,
    outside: Outside | None = None,
) -> list[Collectable]:
    """The images retention would delete now, oldest first."""
    if keep_days < 0:
        raise MlenvError(f"--keep-days {keep_days}: give 0 or more days")
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=keep_days)).isoformat(
        timespec="microseconds"
    )
    with outside_or_real(outside).workspace(workspace_url) as ws:
        found = ws.unheld_images(cutoff)
    items = [
        record_of(Collectable, image, versions=labels, last_recorded=image.recorded_at)
        for image, labels in found
    ]
    return sorted(items, key=lambda c: c.last_recorded)


def _publish_own(
    ws: Any, settings: Settings, workspace_url: str, write: bool, io: Outside
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], list[str]]:
    """This workspace's holders by digest, and (``write``) its holds written
    in the registries for the others to see; ``(held, warnings)``."""
    from pulumi_mlenv.service.holds import publish

    held = ws.protected_digests()
    warnings: list[str] = []
    for digest, holders in sorted(held.items()) if write else ():
        record = ws.find_image_by_digest(digest)
        if record is not None and record.deleted_at is None:
            kind = holders[0].split(":", 1)[0].split(" ", 1)[0]
            warning = publish(
                record.image, kind, settings=settings, workspace_url=workspace_url, outside=io
            )
            if warning:
                warnings.append(warning)
    return tuple((d, tuple(h)) for d, h in sorted(held.items())), warnings


def _saver(item: Collectable, settings: Settings, workspace_url: str, io: Outside) -> str | None:
    """Who, in another workspace, holds ``item`` (None: nobody)."""
    from pulumi_mlenv.service.holds import others_holding

    with io.registry(item.registry, settings) as client:
        notes = others_holding(client, item.repository, item.digest, workspace_url)
    if not notes:
        return None
    return ", ".join(f"workspace {n.workspace} ({n.kind}, since {n.created})" for n in notes)


def collect(
    workspace_url: str,
    settings: Settings,
    *,
    keep_days: float,
    dry_run: bool,
    now: datetime | None = None,
    outside: Outside | None = None,
) -> GcReport:
    """Delete (or, on a dry run, list) what ``plan`` finds that no other
    workspace holds, and record each deletion in the workspace and, as a
    tombstone, in the registry."""
    from pulumi_mlenv.service.holds import release, tombstone

    io = outside_or_real(outside)
    candidates = plan(workspace_url, keep_days, now=now, outside=io)
    deleted: list[Collectable] = []
    kept: list[Collectable] = []
    failed: list[tuple[Collectable, str]] = []
    saved: list[tuple[Collectable, str]] = []
    with io.workspace(workspace_url) as ws:
        held, warnings = _publish_own(ws, settings, workspace_url, not dry_run, io)
        for item in candidates:
            try:
                saver = _saver(item, settings, workspace_url, io)
            except RegistryError as err:
                failed.append((item, f"cannot read who holds it: {err}"))
                continue
            if saver is not None:
                saved.append((item, saver))
                continue
            if dry_run:
                deleted.append(item)
                continue
            if ws.digest_is_held(item.digest):  # held since the plan was made
                kept.append(item)
                continue
            try:
                with io.registry(item.registry, settings) as client:
                    release(item.image, settings=settings, workspace_url=workspace_url, outside=io)
                    client.delete_manifest(item.repository, item.digest)
                    tombstone(client, item.repository, item.digest, workspace_url)
            except RegistryError as err:
                failed.append((item, str(err)))
                continue
            ws.mark_image_deleted(item.registry, item.repository, item.digest)
            deleted.append(item)
    return GcReport(
        dry_run=dry_run,
        keep_days=keep_days,
        deleted=tuple(deleted),
        kept=tuple(kept),
        failed=tuple(failed),
        saved=tuple(saved),
        held=held,
        warnings=tuple(warnings),
    )
