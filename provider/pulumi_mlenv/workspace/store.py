"""The workspace: where environment versions, images and compute targets are recorded.

A ``Workspace`` opens one SQLAlchemy engine on any URL (a plain path means a
SQLite file) and brings its schema up to date on open (``workspace.schema``,
Alembic). Every method is one short transaction, so several processes can
share one workspace: SQLite is put in WAL mode with a busy timeout and
``BEGIN IMMEDIATE``; elsewhere a unique constraint on ``(name, version)`` plus
a retry settles concurrent numbering.

Versions are history (docs/workspace.md): a ``(name, version)`` always means
the hash it was first registered with; nothing deletes a version. Holders
(stacks, runs, deployments) hold versions; a version nobody holds any more is
*archived*: hidden from default listings, still resolvable.

Secrets are never stored here: the resource layer hands over variable values
it may store and marks secret ones itself.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from types import TracebackType
from typing import Any, Final

from sqlalchemy import delete, func, make_url, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._protected import protected_digests
from pulumi_mlenv.workspace._tables import (
    ComputeTargetRow,
    HoldRow,
    ImageRow,
    LeaseRow,
    VerificationRow,
    VersionRow,
    normalise_url,
    shared_engine,
)
from pulumi_mlenv.workspace.reconnect import reconnect_methods
from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    Holder,
    ImageRecord,
    VerificationRecord,
    VersionConflict,
    VersionRecord,
)
from pulumi_mlenv.workspace.schema import SchemaTooNew, opening_errors, upgrade
from pulumi_mlenv.workspace.sqlite_file import check_sqlite_url

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


def _target(row: ComputeTargetRow) -> ComputeTargetRecord:
    return ComputeTargetRecord(name=row.name, kind=row.kind, url=row.url, updated_at=row.updated_at)


class Workspace:
    """A workspace store on ``url``: a plain path (SQLite file, made absolute),
    ``sqlite:///...``, or any SQLAlchemy URL (``postgresql+psycopg://...``).

    Opening creates the tables when missing and upgrades an older schema
    (one line on stderr); a schema newer than this code raises
    ``SchemaTooNew``. Objects on one URL share one engine per process; call
    ``close()`` (or use ``with``) when done. Do not keep one in a Pulumi
    provider object: open one per operation.
    """

    def __init__(self, url: str) -> None:
        try:
            self.url = normalise_url(url)
            check_sqlite_url(self.url)
            self._engine, self._shared = shared_engine(self.url)
            upgrade(self._engine, self.url, _safe_url(self.url))
        except SchemaTooNew:
            raise
        except opening_errors() as exc:
            shown = _safe_url(url)
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
            raise MlenvError(f"opening workspace {shown}: {reason}") from None

    def __repr__(self) -> str:
        return f"Workspace({_safe_url(self.url)!r})"

    def close(self) -> None:
        """Release the workspace: a private engine is disposed; the process's
        shared engine for this URL keeps its pooled connections for the next."""
        if not self._shared:
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
        holder: Holder | None = None,
    ) -> VersionRecord:
        """Register ``name`` at ``version`` for ``env_hash``, held by ``holder``
        (when given), and return the record.

        ``version=None`` numbers it: the next integer after the name's highest
        integer version, archived ones included (``"1"`` first; numbers are
        never reused), unless the name's latest version has this hash and
        definition already, which is returned (idempotent: a retried
        ``pulumi up`` registers nothing new). An explicit version that exists
        is returned when its hash matches and raises ``VersionConflict``
        otherwise, archived or not. A returned version is active again, and
        points at ``image`` (a forced rebuild moves the hash's image; the
        number, hash and definition stay). Safe when several processes
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
                    row = self._register(s, name, env_hash, version, fields)
                    if holder is not None:
                        self._hold(s, row, holder)
                    return _versions(s, [row])[0]
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
    ) -> VersionRow:
        bind = s.get_bind()
        if bind.dialect.name == "postgresql":
            # One registration of a name at a time: under READ COMMITTED a
            # version committed by another process between the two reads
            # below would otherwise make this one take the next number.
            s.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(f"register:{name}")}
            )
        if version is None:
            latest = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name)
                .order_by(VersionRow.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if (
                latest is not None
                and latest.env_hash == env_hash
                and _canonical(latest.definition) == _canonical(fields["definition"])
            ):
                return self._revive(latest, fields["image"])
            labels = s.scalars(select(VersionRow.version).where(VersionRow.name == name))
            version = str(max((int(v) for v in labels if v.isdigit()), default=0) + 1)
        else:
            existing = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name, VersionRow.version == version)
                .with_for_update()
            ).first()
            if existing is not None:
                if existing.env_hash != env_hash:
                    raise VersionConflict(name, version, existing.env_hash, env_hash)
                return self._revive(existing, fields["image"])
        row = VersionRow(name=name, version=version, env_hash=env_hash, created_at=_now(), **fields)
        s.add(row)
        s.flush()
        return row

    @staticmethod
    def _revive(row: VersionRow, image: str) -> VersionRow:
        """An existing version registered again: active, at the hash's current image."""
        row.archived_at = None
        row.image = image or row.image  # a host run's registration knows no image
        return row

    @staticmethod
    def _row(s: Session, name: str, version: str) -> VersionRow:
        row = s.scalars(
            select(VersionRow)
            .where(VersionRow.name == name, VersionRow.version == version)
            .with_for_update()
        ).first()
        if row is None:
            raise MlenvError(f"environment '{name}' version {version} is not registered")
        return row

    @staticmethod
    def _hold(s: Session, row: VersionRow, holder: Holder) -> None:
        hold = s.scalars(
            select(HoldRow).where(
                HoldRow.kind == holder.kind,
                HoldRow.holder == holder.id,
                HoldRow.name == row.name,
                HoldRow.version == row.version,
            )
        ).first()
        if hold is None:
            s.add(
                HoldRow(
                    kind=holder.kind,
                    holder=holder.id,
                    name=row.name,
                    version=row.version,
                    digest=_digest(row.image),
                    created_at=_now(),
                )
            )
        else:
            hold.digest = _digest(row.image)
        row.archived_at = None
        s.flush()

    def hold(self, name: str, version: str, holder: Holder) -> VersionRecord:
        """Record that ``holder`` (a run, a deployment, a stack) uses ``name:version``;
        the version is active again if it was archived, and its image digest
        is protected from retention. Raises ``MlenvError`` when not registered."""
        for attempt in range(_RETRIES):
            try:
                with self._tx() as s:
                    row = self._row(s, name, version)
                    self._hold(s, row, holder)
                    return _versions(s, [row])[0]
            except IntegrityError:  # the same holder holding it at the same time
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def release(self, name: str, version: str, holder: Holder | None) -> VersionRecord | None:
        """``holder`` lets go of ``name:version`` (only its own hold); the version is
        archived when nothing holds it any more. ``holder=None`` (state written
        before holders were recorded) only archives an unheld version.
        Returns the version as it is now, ``None`` when not registered."""
        with self._tx() as s:
            # FOR UPDATE (PostgreSQL): a hold taken at the same time waits, so the
            # count below cannot miss it and archive a held version.
            row = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name, VersionRow.version == version)
                .with_for_update()
            ).first()
            if row is None:
                return None
            if holder is not None:
                s.execute(
                    delete(HoldRow).where(
                        HoldRow.kind == holder.kind,
                        HoldRow.holder == holder.id,
                        HoldRow.name == name,
                        HoldRow.version == version,
                    )
                )
            left = s.scalar(
                select(func.count())
                .select_from(HoldRow)
                .where(HoldRow.name == name, HoldRow.version == version)
            )
            if not left and row.archived_at is None:
                row.archived_at = _now()
            s.flush()
            return _versions(s, [row])[0]

    def holds_of(self, holder: Holder) -> list[tuple[str, str]]:
        """``(name, version)`` of everything ``holder`` holds."""
        with self._tx() as s:
            return [
                (n, v)
                for n, v in s.execute(
                    select(HoldRow.name, HoldRow.version)
                    .where(HoldRow.kind == holder.kind, HoldRow.holder == holder.id)
                    .order_by(HoldRow.name, HoldRow.version)
                )
            ]

    def get_version(self, name: str, version: str | None = None) -> VersionRecord | None:
        """``name`` at ``version`` (archived or not), or when ``None`` its latest
        active version (its latest archived one when none is active)."""
        with self._tx() as s:
            query = select(VersionRow).where(VersionRow.name == name)
            if version is not None:
                query = query.where(VersionRow.version == version)
            else:
                # Active first (archived_at NULL sorts as the smallest on both
                # databases only when asked): order by "is archived", then newest.
                query = query.order_by(VersionRow.archived_at.is_not(None))
            row = s.scalars(query.order_by(VersionRow.id.desc()).limit(1)).first()
            return _versions(s, [row])[0] if row else None

    def versions_for_hash(
        self, env_hash: str, *, include_archived: bool = False
    ) -> list[VersionRecord]:
        """The active versions registered with this hash (they share one image),
        by name then registration order; archived ones too when asked."""
        with self._tx() as s:
            query = select(VersionRow).where(VersionRow.env_hash == env_hash)
            if not include_archived:
                query = query.where(VersionRow.archived_at.is_(None))
            rows = list(s.scalars(query.order_by(VersionRow.name, VersionRow.id)))
            return _versions(s, rows)

    def list_versions(
        self, name: str | None = None, *, include_archived: bool = False
    ) -> list[VersionRecord]:
        """Active versions (of ``name`` when given), by name then registration
        order, with their holders; archived ones too when asked."""
        with self._tx() as s:
            query = select(VersionRow)
            if name is not None:
                query = query.where(VersionRow.name == name)
            if not include_archived:
                query = query.where(VersionRow.archived_at.is_(None))
            rows = list(s.scalars(query.order_by(VersionRow.name, VersionRow.id)))
            return _versions(s, rows)

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
            now = _now()
            for row in rows:
                row.deleted_at = now
            return len(rows)

    # -- build leases ----------------------------------------------------------

    @contextmanager
    def build_lease(self, key: str, ttl: float = 60.0, poll: float = 0.25) -> Iterator[None]:
        """Hold the workspace-wide lease ``key`` (e.g. an environment hash) for
        the ``with`` block; wait while another process, on any machine using
        this workspace, holds it.

        PostgreSQL: a session advisory lock, freed by the server when the
        holder's connection ends (a process that dies frees it at once).
        SQLite: a row with an expiry ``ttl`` seconds ahead, pushed forward by a
        heartbeat thread; a holder that dies stops beating and the lease is
        free once it expires.
        """
        if self._engine.dialect.name == "postgresql":
            with self._engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                lock = _lock_key(f"mlenv-lease:{key}")
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
            return
        owner = uuid.uuid4().hex
        while not self._take_lease(key, owner, ttl):
            time.sleep(poll)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(key, owner, ttl, stop), daemon=True, name="mlenv-lease"
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with self._tx() as s:
                s.execute(delete(LeaseRow).where(LeaseRow.key == key, LeaseRow.owner == owner))

    def _take_lease(self, key: str, owner: str, ttl: float) -> bool:
        with self._tx() as s:
            row = s.get(LeaseRow, key)
            now = time.time()
            if row is not None and row.expires_at > now:
                return False
            if row is None:
                s.add(LeaseRow(key=key, owner=owner, expires_at=now + ttl, acquired_at=_now()))
            else:  # expired: its holder died
                row.owner, row.expires_at, row.acquired_at = owner, now + ttl, _now()
            return True

    def _heartbeat(self, key: str, owner: str, ttl: float, stop: threading.Event) -> None:
        while not stop.wait(ttl / 3):
            try:
                with self._tx() as s:
                    row = s.get(LeaseRow, key)
                    if row is None or row.owner != owner:
                        print(f"mlenv: build lease {key[:12]} was lost", file=sys.stderr)
                        return
                    row.expires_at = time.time() + ttl
            except SQLAlchemyError:  # a busy database: try again at the next beat
                continue

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


# A PostgreSQL restart under a command: a step waits for the server and runs once more.
reconnect_methods(Workspace, skip=frozenset({"close", "build_lease"}))
