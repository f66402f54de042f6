"""Rows <-> records and the small helpers every part of the environment store uses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pulumi_mlenv.workspace._tables import (
    Base,
    ComputeTargetRow,
    HoldRow,
    ImageRow,
    VerificationRow,
    VersionRow,
)
from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    ImageRecord,
    VerificationRecord,
    VersionRecord,
    canonical_json,
)

__all__ = ["KEEP", "Pairs"]


Pairs = Mapping[str, str] | Iterable[tuple[str, str]]
_RETRIES = 5


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""Pass to ``update_version_metadata`` to leave a field as it is."""


def _safe_url(url: str) -> str:
    """The URL with any database password masked (for messages and reprs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparsable URL)" if "@" in url else url


def _pairs(value: Pairs) -> list[list[str]]:
    items = value.items() if isinstance(value, Mapping) else value
    return [[str(k), str(v)] for k, v in items]


def _json_ready(definition: Mapping[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(canonical_json(definition))
    return loaded


def _image(row: ImageRow) -> ImageRecord:
    return ImageRecord(
        env_hash=row.env_hash,
        registry=row.registry_host,
        repository=row.repository,
        digest=row.digest,
        size=row.size,
        created=row.created,
        base_image=row.base_image,
        base_digest=row.base_digest,
        dockerfile=row.dockerfile,
        lock=tuple(row.lock),
        build_seconds=row.build_seconds,
        forced=row.forced,
        recorded_at=row.recorded_at,
        deleted_at=row.deleted_at,
    )


def _verification(row: VerificationRow) -> VerificationRecord:
    return VerificationRecord(
        digest=row.digest,
        env_hash=row.env_hash,
        builder=row.builder,
        identical=row.identical,
        rebuilt_digest=row.rebuilt_digest,
        summary=row.summary,
        verified_at=row.verified_at,
    )


def _digest(image: str) -> str | None:
    return image.rpartition("@")[2] if "@" in image else None


def _lock_key(key: str) -> int:
    """A signed 64-bit advisory lock key for ``key`` (PostgreSQL)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _version(row: VersionRow, holders: Iterable[str] = ()) -> VersionRecord:
    return VersionRecord(
        name=row.name,
        version=row.version,
        env_hash=row.env_hash,
        image=row.image,
        definition=dict(row.definition),
        description=row.description,
        tags=tuple((k, v) for k, v in row.tags),
        environment_variables=tuple((k, v) for k, v in row.environment_variables),
        created_at=row.created_at,
        archived_at=row.archived_at,
        holders=tuple(sorted(holders)),
    )


def _holders(s: Session, rows: list[VersionRow]) -> dict[tuple[str, str], list[str]]:
    """``{(name, version): ["kind:id", ...]}`` for ``rows``, in one query."""
    out: dict[tuple[str, str], list[str]] = {}
    if not rows:
        return out
    names = {r.name for r in rows}
    query = select(HoldRow.name, HoldRow.version, HoldRow.kind, HoldRow.holder)
    if len(names) <= 50:  # else read them all: cheaper than a long IN list
        query = query.where(HoldRow.name.in_(names))
    for name, version, kind, holder in s.execute(query):
        out.setdefault((name, version), []).append(f"{kind}:{holder}")
    return out


def _versions(s: Session, rows: list[VersionRow]) -> list[VersionRecord]:
    holders = _holders(s, rows)
    return [_version(r, holders.get((r.name, r.version), ())) for r in rows]


def _delete_rows(s: Session, table: type[Base], condition: ColumnElement[bool]) -> bool:
    """Delete the rows of ``table`` that match ``condition``; whether there were any."""
    result = s.execute(delete(table).where(condition))
    return bool(getattr(result, "rowcount", 0))


def _target(row: ComputeTargetRow) -> ComputeTargetRecord:
    return ComputeTargetRecord(name=row.name, kind=row.kind, url=row.url, updated_at=row.updated_at)
