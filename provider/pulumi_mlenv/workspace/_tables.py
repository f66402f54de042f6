"""ORM tables of the workspace (SQLAlchemy 2), and the engine that opens them.

Portable SQL only: column types that SQLite and PostgreSQL both have
(``JSON`` included), a unique constraint instead of locks for version
numbers. The schema is created and changed by the Alembic migrations in
``workspace/migrations`` (never by ``create_all``): a table added here needs
one new migration file there (docs/workspace.md says how). SQLite gets WAL,
a busy timeout and ``BEGIN IMMEDIATE`` so that several processes (Pulumi
runs one provider process per plugin) can write the same file without
"database is locked" errors.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool, StaticPool

__all__ = [
    "Base",
    "ComputeTargetRow",
    "HoldRow",
    "ImageRow",
    "LayerRow",
    "LeaseRow",
    "VerificationRow",
    "VersionRow",
    "open_engine",
    "shared_engine",
]

SQLITE_BUSY_MS = 30_000


class Base(DeclarativeBase):
    pass


class ImageRow(Base):
    __tablename__ = "mlenv_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env_hash: Mapped[str] = mapped_column(String(128), index=True)
    # ``registry`` is taken by DeclarativeBase: the attribute is renamed, not the column.
    registry_host: Mapped[str] = mapped_column("registry", String(255))
    repository: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(128), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[str] = mapped_column(String(64))
    base_image: Mapped[str | None] = mapped_column(String(512), nullable=True)
    base_digest: Mapped[str | None] = mapped_column(String(128), nullable=True)
    dockerfile: Mapped[str] = mapped_column(Text)
    lock: Mapped[list[str]] = mapped_column(JSON)
    build_seconds: Mapped[float] = mapped_column(Float)
    forced: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[str] = mapped_column(String(40))
    #: When ``mlenv gc`` deleted the manifest from its registry (None: present).
    deleted_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LayerRow(Base):
    """One layer of a built image (0007): what the preview of a replace
    estimates from (``imaging.layer_plan``: its key and slot)."""

    __tablename__ = "mlenv_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env_hash: Mapped[str] = mapped_column(String(128), index=True)
    image_digest: Mapped[str] = mapped_column(String(128), index=True)
    slot: Mapped[str] = mapped_column(String(255), index=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    digest: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: Compressed bytes, as pushed.
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Seconds its build step took; None when BuildKit had it cached.
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_at: Mapped[str] = mapped_column(String(40))


class VersionRow(Base):
    __tablename__ = "mlenv_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_mlenv_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str] = mapped_column(String(128))
    env_hash: Mapped[str] = mapped_column(String(128), index=True)
    image: Mapped[str] = mapped_column(String(1024))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[list[str]]] = mapped_column(JSON)
    environment_variables: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[str] = mapped_column(String(40))
    #: When the last holder let go (None: active). Archived versions are never deleted.
    archived_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class HoldRow(Base):
    """Who holds a version: a stack (``project/stack``), a run, a deployment.

    ``digest`` is the image the version pointed to when the hold was taken:
    retention never deletes a digest any hold names.
    """

    __tablename__ = "mlenv_holds"
    __table_args__ = (
        UniqueConstraint("kind", "holder", "name", "version", name="uq_mlenv_holds"),
        Index("ix_mlenv_holds_name_version", "name", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[str] = mapped_column(String(40))


class LeaseRow(Base):
    """A build lease on SQLite (PostgreSQL uses advisory locks): whoever holds
    ``key`` builds; ``expires_at`` (epoch seconds) is pushed forward by a
    heartbeat, so a holder that dies frees it when it expires."""

    __tablename__ = "mlenv_leases"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[str] = mapped_column(String(40))


class VerificationRow(Base):
    """A table of its own (not columns of ``mlenv_images``): tables are
    created on open, so older workspace files get it without a migration."""

    __tablename__ = "mlenv_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(128), index=True)
    env_hash: Mapped[str] = mapped_column(String(128))
    builder: Mapped[str] = mapped_column(String(1024))
    identical: Mapped[bool] = mapped_column(Boolean)
    rebuilt_digest: Mapped[str] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[str] = mapped_column(String(40))


class ComputeTargetRow(Base):
    __tablename__ = "mlenv_compute_targets"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    updated_at: Mapped[str] = mapped_column(String(40))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
    # implicit BEGIN is deferred, which lets two writers deadlock).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction
    # (the next version number) cannot be overtaken by another process.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (already normalised), with SQLite made process safe."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False},
        # A file is opened per checkout (NullPool): a pooled connection could
        # carry a read snapshot from one store to the next in a long-lived
        # process (a stale version seen after another process released it),
        # and opening a SQLite file costs well under a millisecond.
        poolclass=StaticPool if memory else NullPool,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _forget_engines_after_fork() -> None:
    # A child must not share its parent's pooled connections.
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def shared_engine(url: str) -> tuple[Engine, bool]:
    """The process's engine for ``url`` (already normalised) and whether it is
    shared. A provider opens a workspace per operation: sharing the engine
    keeps its pooled connection (a new PostgreSQL connection costs ~20 ms).
    In-memory SQLite databases are never shared (each one is a new database)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or database.startswith("file::memory:")
    ):
        return open_engine(url), False
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = open_engine(url)
        return engine, True
