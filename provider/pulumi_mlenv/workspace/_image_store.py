"""Images by hash and digest, their verifications, and what retention may delete."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace._protected import protected_digests
from pulumi_mlenv.workspace._rows import (
    _digest,
    _image,
    _verification,
)
from pulumi_mlenv.workspace._tables import (
    ImageRow,
    VerificationRow,
    VersionRow,
)
from pulumi_mlenv.workspace.records import (
    ImageRecord,
    VerificationRecord,
    now,
)

__all__ = ["ImageStore"]

#: The append-only tables whose last row (highest id) is the current one.
_Appended = TypeVar("_Appended", ImageRow, VerificationRow)


def _last_row(
    s: Session, table: type[_Appended], condition: ColumnElement[bool]
) -> _Appended | None:
    """The row of ``table`` recorded last among those matching ``condition``."""
    return s.scalars(select(table).where(condition).order_by(table.id.desc()).limit(1)).first()


class ImageStore(StoreBase):
    """The images part of the workspace: one record per pushed image."""

    # -- images ------------------------------------------------------------

    def record_image(self, record: ImageRecord) -> ImageRecord:
        """Record an image for its hash and return it as stored (``recorded_at`` set).

        Recording the hash's current image again (same digest, registry and
        repository) changes nothing and returns the stored record.
        """
        with self._tx() as s:
            latest = _last_row(s, ImageRow, ImageRow.env_hash == record.env_hash)
            same = (record.digest, record.registry, record.repository)
            if (
                latest is not None
                and (latest.digest, latest.registry_host, latest.repository) == same
            ):
                latest.deleted_at = None  # rebuilt after retention deleted it
                return _image(latest)
            row = ImageRow(
                env_hash=record.env_hash,
                registry_host=record.registry,
                repository=record.repository,
                digest=record.digest,
                size=record.size,
                created=record.created,
                base_image=record.base_image,
                base_digest=record.base_digest,
                dockerfile=record.dockerfile,
                lock=list(record.lock),
                build_seconds=float(record.build_seconds),
                forced=record.forced,
                recorded_at=now(),
            )
            s.add(row)
            s.flush()
            return _image(row)

    def _last_image(self, condition: ColumnElement[bool]) -> ImageRecord | None:
        with self._tx() as s:
            row = _last_row(s, ImageRow, condition)
            return _image(row) if row else None

    def find_image(self, env_hash: str) -> ImageRecord | None:
        """The hash's current image: the one recorded last, or ``None``."""
        return self._last_image(ImageRow.env_hash == env_hash)

    def image_history(self, env_hash: str) -> list[ImageRecord]:
        """Every image ever recorded for the hash, oldest first (forced rebuilds, an explicit
        forced rebuild)."""
        with self._tx() as s:
            rows = s.scalars(
                select(ImageRow).where(ImageRow.env_hash == env_hash).order_by(ImageRow.id)
            )
            return [_image(r) for r in rows]

    def find_image_by_digest(self, digest: str) -> ImageRecord | None:
        """The last record of the image with this manifest digest, or ``None``."""
        return self._last_image(ImageRow.digest == digest)

    # -- verifications (mlenv image verify) ---------------------------------

    def record_verification(self, record: VerificationRecord) -> VerificationRecord:
        """Append one verification of an image; returned with ``verified_at`` set."""
        with self._tx() as s:
            row = VerificationRow(
                digest=record.digest,
                env_hash=record.env_hash,
                builder=record.builder,
                identical=record.identical,
                rebuilt_digest=record.rebuilt_digest,
                summary=record.summary,
                verified_at=now(),
            )
            s.add(row)
            s.flush()
            return _verification(row)

    def last_verification(self, digest: str) -> VerificationRecord | None:
        """The latest verification of the image ``digest``, or ``None``."""
        with self._tx() as s:
            row = _last_row(s, VerificationRow, VerificationRow.digest == digest)
            return _verification(row) if row else None

    # -- retention -----------------------------------------------------------

    def unheld_images(self, cutoff: str) -> list[tuple[ImageRecord, tuple[str, ...]]]:
        """Images retention may delete, with the ``name:version`` labels (all
        archived) that pointed at them: present in their registry, no active
        version points at them, no hold names their digest, their hash's
        current image is not one an active version uses, and last used
        (recorded, or its last version archived) before ``cutoff`` (ISO time).
        One record per registry, repository and digest."""
        with self._tx() as s:
            active = list(
                s.execute(
                    select(VersionRow.image, VersionRow.env_hash).where(
                        VersionRow.archived_at.is_(None)
                    )
                )
            )
            protected = set(protected_digests(s))
            active_hashes = {h for _, h in active}
            archived: dict[str, list[tuple[str, str]]] = {}
            for name, version, image, when in s.execute(
                select(
                    VersionRow.name, VersionRow.version, VersionRow.image, VersionRow.archived_at
                ).where(VersionRow.archived_at.is_not(None))
            ):
                if d := _digest(image):
                    archived.setdefault(d, []).append((f"{name}:{version}", when or ""))
            rows = list(
                s.scalars(
                    select(ImageRow).where(ImageRow.deleted_at.is_(None)).order_by(ImageRow.id)
                )
            )
            current: dict[str, ImageRow] = {r.env_hash: r for r in rows}  # last row wins
            groups: dict[tuple[str, str, str], ImageRow] = {}
            for r in rows:
                groups[(r.registry_host, r.repository, r.digest)] = r
            out: list[tuple[ImageRecord, tuple[str, ...]]] = []
            for row in groups.values():
                if row.digest in protected:
                    continue
                if row.env_hash in active_hashes and current[row.env_hash].digest == row.digest:
                    continue
                labels = archived.get(row.digest, [])
                last_used = max([row.recorded_at, *(when for _, when in labels)])
                if last_used < cutoff:
                    out.append((_image(row), tuple(sorted(label for label, _ in labels))))
            return out

    def digest_is_held(self, digest: str) -> bool:
        """True when an active version, a hold, a run or a model names
        ``digest`` (checked again right before a deletion)."""
        return digest in self.protected_digests()

    def protected_digests(self) -> dict[str, list[str]]:
        """Every digest this workspace protects, with who protects it."""
        with self._tx() as s:
            return protected_digests(s)

    def mark_image_deleted(self, registry: str, repository: str, digest: str) -> int:
        """Record that retention deleted the manifest; returns the rows marked."""
        with self._tx() as s:
            rows = s.scalars(
                select(ImageRow).where(
                    ImageRow.registry_host == registry,
                    ImageRow.repository == repository,
                    ImageRow.digest == digest,
                    ImageRow.deleted_at.is_(None),
                )
            ).all()
            deleted_at = now()
            for row in rows:
                row.deleted_at = deleted_at
            return len(rows)
