"""The workspace: where environment versions, images and compute targets are recorded.

A ``Workspace`` opens one SQLAlchemy engine on any URL (a plain path means a
SQLite file) and creates its tables on open. Every method is one short
transaction, so several processes can share one workspace: SQLite is put in
WAL mode with a busy timeout and ``BEGIN IMMEDIATE``; elsewhere a unique
constraint on ``(name, version)`` plus a retry settles concurrent numbering.

Secrets are never stored here: the resource layer hands over variable values
it may store and marks secret ones itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from types import TracebackType
from typing import Any, Final

from sqlalchemy import delete, func, make_url, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._tables import (
    Base,
    ComputeTargetRow,
    ImageRow,
    VerificationRow,
    VersionRow,
    normalise_url,
    open_engine,
)
from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    ImageRecord,
    VerificationRecord,
    VersionConflict,
    VersionRecord,
)

__all__ = ["KEEP", "Pairs", "Workspace"]

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _pairs(value: Pairs) -> list[list[str]]:
    items = value.items() if isinstance(value, Mapping) else value
    return [[str(k), str(v)] for k, v in items]


def _canonical(definition: Mapping[str, Any]) -> str:
    # Tuples and lists, key order: both compare equal after a JSON round trip.
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)


def _json_ready(definition: Mapping[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_canonical(definition))
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


def _version(row: VersionRow) -> VersionRecord:
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
    )


def _target(row: ComputeTargetRow) -> ComputeTargetRecord:
    return ComputeTargetRecord(name=row.name, kind=row.kind, url=row.url, updated_at=row.updated_at)


class Workspace:
    """A workspace store on ``url``: a plain path (SQLite file, made absolute),
    ``sqlite:///...``, or any SQLAlchemy URL (``postgresql+psycopg://...``).

    Opening creates the tables when missing. One engine per object; call
    ``close()`` (or use ``with``) to release it. Do not keep one in a Pulumi
    provider object: open one per operation.
    """

    def __init__(self, url: str) -> None:
        try:
            self.url = normalise_url(url)
            self._engine = open_engine(self.url)
            Base.metadata.create_all(self._engine)
        except (ValueError, ImportError, OSError, SQLAlchemyError) as exc:
            shown = _safe_url(url)
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
            raise MlenvError(f"opening workspace {shown}: {reason}") from None

    def __repr__(self) -> str:
        return f"Workspace({_safe_url(self.url)!r})"

    def close(self) -> None:
        """Dispose of the engine and its connections."""
        self._engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    # -- images ------------------------------------------------------------

    def record_image(self, record: ImageRecord) -> ImageRecord:
        """Record an image for its hash and return it as stored (``recorded_at`` set).

        Recording the hash's current image again (same digest, registry and
        repository) changes nothing and returns the stored record.
        """
        with self._tx() as s:
            latest = s.scalars(
                select(ImageRow)
                .where(ImageRow.env_hash == record.env_hash)
                .order_by(ImageRow.id.desc())
                .limit(1)
            ).first()
            same = (record.digest, record.registry, record.repository)
            if (
                latest is not None
                and (latest.digest, latest.registry_host, latest.repository) == same
            ):
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
                recorded_at=_now(),
            )
            s.add(row)
            s.flush()
            return _image(row)

    def _last_image(self, condition: Any) -> ImageRecord | None:
        with self._tx() as s:
            row = s.scalars(
                select(ImageRow).where(condition).order_by(ImageRow.id.desc()).limit(1)
            ).first()
            return _image(row) if row else None

    def find_image(self, env_hash: str) -> ImageRecord | None:
        """The hash's current image: the one recorded last, or ``None``."""
        return self._last_image(ImageRow.env_hash == env_hash)

    def image_history(self, env_hash: str) -> list[ImageRecord]:
        """Every image ever recorded for the hash, oldest first (forced rebuilds, R18)."""
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
                verified_at=_now(),
            )
            s.add(row)
            s.flush()
            return _verification(row)

    def last_verification(self, digest: str) -> VerificationRecord | None:
        """The latest verification of the image ``digest``, or ``None``."""
        with self._tx() as s:
            row = s.scalars(
                select(VerificationRow)
                .where(VerificationRow.digest == digest)
                .order_by(VerificationRow.id.desc())
                .limit(1)
            ).first()
            return _verification(row) if row else None

    # -- environment versions ----------------------------------------------

    def register_version(
        self,
        name: str,
        env_hash: str,
        *,
        version: str | None,
        image: str,
        definition: Mapping[str, Any],
        description: str | None = None,
        tags: Pairs = (),
        environment_variables: Pairs = (),
    ) -> VersionRecord:
        """Register ``name`` at ``version`` for ``env_hash`` and return the record.

        ``version=None`` numbers it: the next integer after the name's highest
        integer version (``"1"`` first), unless the name's latest version has
        this hash and definition already, which is returned unchanged
        (idempotent: a retried ``pulumi up`` registers nothing new). An
        explicit version that exists is returned when its hash matches and
        raises ``VersionConflict`` otherwise. Safe when several processes
        register the same name at once: each gets a distinct number or the
        idempotent answer.
        """
        fields = {
            "image": image,
            "definition": _json_ready(definition),
            "description": description,
            "tags": _pairs(tags),
            "environment_variables": _pairs(environment_variables),
        }
        for attempt in range(_RETRIES):
            try:
                with self._tx() as s:
                    return self._register(s, name, env_hash, version, fields)
            except IntegrityError:
                # Another process took this (name, version) between our read and write.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _register(
        self,
        s: Session,
        name: str,
        env_hash: str,
        version: str | None,
        fields: dict[str, Any],
    ) -> VersionRecord:
        if version is None:
            latest = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name)
                .order_by(VersionRow.id.desc())
                .limit(1)
            ).first()
            if (
                latest is not None
                and latest.env_hash == env_hash
                and _canonical(latest.definition) == _canonical(fields["definition"])
            ):
                return _version(latest)
            labels = s.scalars(select(VersionRow.version).where(VersionRow.name == name))
            version = str(max((int(v) for v in labels if v.isdigit()), default=0) + 1)
        else:
            existing = s.scalars(
                select(VersionRow).where(VersionRow.name == name, VersionRow.version == version)
            ).first()
            if existing is not None:
                if existing.env_hash != env_hash:
                    raise VersionConflict(name, version, existing.env_hash, env_hash)
                return _version(existing)
        row = VersionRow(name=name, version=version, env_hash=env_hash, created_at=_now(), **fields)
        s.add(row)
        s.flush()
        return _version(row)

    def get_version(self, name: str, version: str | None = None) -> VersionRecord | None:
        """``name`` at ``version``, or its latest registered version when ``None``."""
        with self._tx() as s:
            query = select(VersionRow).where(VersionRow.name == name)
            if version is not None:
                query = query.where(VersionRow.version == version)
            row = s.scalars(query.order_by(VersionRow.id.desc()).limit(1)).first()
            return _version(row) if row else None

    def versions_for_hash(self, env_hash: str) -> list[VersionRecord]:
        """Every version registered with this hash (they share one image), by name
        then registration order."""
        with self._tx() as s:
            rows = s.scalars(
                select(VersionRow)
                .where(VersionRow.env_hash == env_hash)
                .order_by(VersionRow.name, VersionRow.id)
            )
            return [_version(r) for r in rows]

    def list_versions(self, name: str | None = None) -> list[VersionRecord]:
        """All versions (of ``name`` when given), by name then registration order."""
        with self._tx() as s:
            query = select(VersionRow)
            if name is not None:
                query = query.where(VersionRow.name == name)
            rows = s.scalars(query.order_by(VersionRow.name, VersionRow.id))
            return [_version(r) for r in rows]

    def unregister_version(self, name: str, version: str) -> bool:
        """Remove a version; ``False`` when it was not registered. Images stay."""
        with self._tx() as s:
            result = s.execute(
                delete(VersionRow).where(VersionRow.name == name, VersionRow.version == version)
            )
            return bool(getattr(result, "rowcount", 0))

    def update_version_metadata(
        self,
        name: str,
        version: str,
        *,
        description: str | _Keep | None = KEEP,
        tags: Pairs | _Keep = KEEP,
        environment_variables: Pairs | _Keep = KEEP,
        definition: Mapping[str, Any] | _Keep = KEEP,
    ) -> VersionRecord:
        """Change what does not shape the image (R13) and return the new record.

        Fields left at ``KEEP`` are unchanged; ``description=None`` clears it.
        ``definition`` replaces the stored definition (give it when the
        metadata is part of it, so later idempotent registrations compare
        against what is current). Raises ``MlenvError`` when the version is
        not registered.
        """
        with self._tx() as s:
            row = s.scalars(
                select(VersionRow).where(VersionRow.name == name, VersionRow.version == version)
            ).first()
            if row is None:
                raise MlenvError(f"environment '{name}' version {version} is not registered")
            if not isinstance(description, _Keep):
                row.description = description
            if not isinstance(tags, _Keep):
                row.tags = _pairs(tags)
            if not isinstance(environment_variables, _Keep):
                row.environment_variables = _pairs(environment_variables)
            if not isinstance(definition, _Keep):
                row.definition = _json_ready(definition)
            s.flush()
            return _version(row)

    def count_versions(self) -> int:
        """How many versions are registered (all names)."""
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(VersionRow)) or 0)

    # -- compute targets ---------------------------------------------------

    def upsert_compute_target(self, name: str, kind: str, url: str | None) -> ComputeTargetRecord:
        """Create or replace the compute target ``name``."""
        with self._tx() as s:
            row = s.get(ComputeTargetRow, name)
            if row is None:
                row = ComputeTargetRow(name=name, kind=kind, url=url, updated_at=_now())
                s.add(row)
            else:
                row.kind, row.url, row.updated_at = kind, url, _now()
            s.flush()
            return _target(row)

    def get_compute_target(self, name: str) -> ComputeTargetRecord | None:
        """The compute target ``name``, or ``None``."""
        with self._tx() as s:
            row = s.get(ComputeTargetRow, name)
            return _target(row) if row else None

    def delete_compute_target(self, name: str) -> bool:
        """Remove the compute target; ``False`` when there was none."""
        with self._tx() as s:
            result = s.execute(delete(ComputeTargetRow).where(ComputeTargetRow.name == name))
            return bool(getattr(result, "rowcount", 0))

    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        """All compute targets, by name."""
        with self._tx() as s:
            return [_target(r) for r in s.scalars(select(ComputeTargetRow).order_by("name"))]
