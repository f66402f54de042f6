"""Layers of built images: recorded after each build, read by the preview
of a replace (what it will build, push and take)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select

from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace._tables import ImageRow, LayerRow
from pulumi_mlenv.workspace.records import LayerHistory, LayerRecord, now

__all__ = ["LayerStore"]


def _record(row: LayerRow) -> LayerRecord:
    return LayerRecord(row.slot, row.key, row.digest, row.size, row.seconds)


class LayerStore(StoreBase):
    """The layers part of the workspace."""

    def record_layers(
        self, env_hash: str, image_digest: str, layers: Sequence[LayerRecord]
    ) -> None:
        """Record the layers of one built image (in image order)."""
        recorded_at = now()
        with self._tx() as s:
            s.add_all(
                LayerRow(
                    env_hash=env_hash,
                    image_digest=image_digest,
                    slot=layer.slot,
                    key=layer.key,
                    digest=layer.digest,
                    size=layer.size,
                    seconds=layer.seconds,
                    recorded_at=recorded_at,
                )
                for layer in layers
            )

    def layer_history(self, keys: Collection[str], slots: Collection[str]) -> LayerHistory:
        """What past builds say about ``keys`` and ``slots`` (one transaction)."""
        with self._tx() as s:
            by_key: dict[str, LayerRecord] = {}
            key_seconds: dict[str, float] = {}
            rows = s.scalars(
                select(LayerRow).where(LayerRow.key.in_(list(keys))).order_by(LayerRow.id)
            )
            for row in rows:  # oldest first: the last one wins
                if row.digest:
                    by_key[row.key] = _record(row)
                if row.seconds is not None:
                    key_seconds[row.key] = row.seconds
            by_slot: dict[str, LayerRecord] = {}
            slot_seconds: dict[str, float] = {}
            rows = s.scalars(
                select(LayerRow).where(LayerRow.slot.in_(list(slots))).order_by(LayerRow.id)
            )
            for row in rows:
                if row.size is not None:
                    by_slot[row.slot] = _record(row)
                if row.seconds is not None:
                    slot_seconds[row.slot] = row.seconds
            builds = s.scalar(select(func.count(func.distinct(LayerRow.image_digest)))) or 0
            last = s.scalars(select(LayerRow).order_by(LayerRow.id.desc()).limit(1)).first()
            overhead: float | None = None
            if last is not None:
                built = s.scalar(
                    select(func.sum(LayerRow.seconds)).where(
                        LayerRow.image_digest == last.image_digest
                    )
                )
                total = s.scalar(
                    select(ImageRow.build_seconds)
                    .where(ImageRow.digest == last.image_digest)
                    .order_by(ImageRow.id.desc())
                    .limit(1)
                )
                if total is not None:
                    overhead = max(0.0, float(total) - float(built or 0.0))
            return LayerHistory(by_key, key_seconds, by_slot, slot_seconds, overhead, int(builds))
