"""A run's records on a SQLite workspace with the standard library.

A trivial run on the host takes a few tens of milliseconds; opening the
workspace through SQLAlchemy took most of a second before it started. On a
SQLite file that is whole and already at the code's schema revision, what a
run reads and writes is a handful of short statements, made here with
``sqlite3`` exactly as the SQLAlchemy stores make them: the same tables and
columns, JSON as text, the same ``BEGIN IMMEDIATE`` transactions, busy
timeout and WAL journal, so both kinds of process share one file. Anything
else (no file yet, another schema, PostgreSQL) answers ``None`` and the
caller opens the usual store, which creates, migrates, refuses or reports.

- ``SqliteRunStore``: every method of ``RunStore`` (add, heartbeat, sweep of
  lost runs, mark running, finish, get, list), one connection per
  transaction so the heartbeat thread never shares one;
- ``try_compute_targets``: the registered compute targets;
- ``try_registered_version``: a run's registration when it changes nothing
  (the definition's latest version already has this hash and definition,
  active, at the image the store would keep): ``(version, image, lock)``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace.records import ComputeTargetRecord, canonical_json, now
from pulumi_mlenv.workspace.revisions import VERSION_TABLE, script_heads
from pulumi_mlenv.workspace.run_reads import record_of_row, sqlite_path
from pulumi_mlenv.workspace.runs import (
    FINAL,
    RunRecord,
    RunStatus,
    RunTransitions,
    lost_reason,
    run_by_id_or_prefix,
)
from pulumi_mlenv.workspace.sqlite_file import sqlite_file_problem

__all__ = ["SqliteRunStore", "current_file", "try_compute_targets", "try_registered_version"]

_BUSY_SECONDS = 30.0  # as the SQLAlchemy engine's busy timeout
_JSON = frozenset({"lock", "arguments", "variables", "details"})
_T = TypeVar("_T")


def _connect(path: Path) -> sqlite3.Connection:
    # A connection per transaction, closed after it, as the SQLAlchemy stores
    # check one out per transaction: a connection kept open would lose its
    # locks when this process reads the file's header (closing any descriptor
    # of a file drops the process's POSIX locks on it), and another process
    # could then checkpoint the journal under it.
    connection = sqlite3.connect(path, timeout=_BUSY_SECONDS, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


@contextmanager
def _connected(path: Path) -> Iterator[sqlite3.Connection]:
    connection = _connect(path)
    try:
        yield connection
    finally:
        connection.close()


def current_file(url: str) -> Path | None:
    """The workspace's SQLite file when it exists, is whole, and is at the
    code's schema revision (with every run column); else ``None``."""
    path = sqlite_path(url)
    if path is None or not path.is_file() or sqlite_file_problem(path) is not None:
        return None
    try:
        with _connected(path) as connection:
            heads = {r[0] for r in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")}
            columns = {r[1] for r in connection.execute("PRAGMA table_info(mlenv_runs)")}
    except sqlite3.Error:
        return None
    if heads != script_heads() or any(f.name not in columns for f in fields(RunRecord)):
        return None
    return path


def _record(row: sqlite3.Row) -> RunRecord:
    return record_of_row(row, _JSON)


class SqliteRunStore(RunTransitions):
    """``RunStore`` on a SQLite file at the current schema (``current_file``)."""

    def __init__(self, url: str, path: Path) -> None:
        self.url, self._path = url, path

    def close(self) -> None:
        """Nothing stays open between transactions."""

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with _connected(self._path) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @staticmethod
    def _one(connection: sqlite3.Connection, run_id: str) -> RunRecord | None:
        row = connection.execute("SELECT * FROM mlenv_runs WHERE id = ?", (run_id,)).fetchone()
        return _record(row) if row is not None else None

    def _insert(self, record: RunRecord) -> None:
        data = record.to_dict()
        for key in _JSON:
            data[key] = json.dumps(data[key]) if data[key] is not None else None
        names = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        with self._tx() as c:
            c.execute(f"INSERT INTO mlenv_runs ({names}) VALUES ({marks})", tuple(data.values()))

    def _update(self, run_id: str, **values: Any) -> RunRecord:
        with self._tx() as c:
            if self._one(c, run_id) is None:
                raise MlenvError(f"no run {run_id} in the workspace")
            assignments = ", ".join(f"{key} = ?" for key in values)
            c.execute(
                f"UPDATE mlenv_runs SET {assignments} WHERE id = ?", (*values.values(), run_id)
            )
            updated = self._one(c, run_id)
        assert updated is not None
        return updated

    def beat(self, run_id: str) -> None:
        """The run's process is alive (its heartbeat)."""
        final = tuple(s.value for s in FINAL)
        with self._tx() as c:
            c.execute(
                f"UPDATE mlenv_runs SET heartbeat_at = ? WHERE id = ? "
                f"AND status NOT IN ({', '.join('?' for _ in final)})",
                (now(), run_id, *final),
            )

    def sweep(self) -> list[RunRecord]:
        """Record ``lost`` every unfinished run whose process is gone; returns them."""
        lost: list[RunRecord] = []
        moment = datetime.now(UTC)
        with self._tx() as c:
            rows = c.execute(
                "SELECT * FROM mlenv_runs WHERE status IN (?, ?)",
                (RunStatus.QUEUED.value, RunStatus.RUNNING.value),
            ).fetchall()
            for row in rows:
                record = _record(row)
                reason = lost_reason(record, moment)
                if reason is None:
                    continue
                record = replace(
                    record, status=RunStatus.LOST, error=f"lost: {reason}", ended_at=now()
                )
                c.execute(
                    "UPDATE mlenv_runs SET status = ?, error = ?, ended_at = ? WHERE id = ?",
                    (record.status.value, record.error, record.ended_at, record.id),
                )
                lost.append(record)
        return lost

    def _find(self, key: str) -> RunRecord:
        with self._tx() as c:
            return run_by_id_or_prefix(
                key, self._one(c, key), lambda prefix: _starting_with(c, prefix)
            )

    def _latest(self, limit: int) -> list[RunRecord]:
        with self._tx() as c:
            rows = c.execute(
                "SELECT * FROM mlenv_runs ORDER BY created_at DESC, id LIMIT ?", (limit,)
            ).fetchall()
        return [_record(r) for r in rows]


def _starting_with(c: sqlite3.Connection, prefix: str) -> list[RunRecord]:
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = c.execute(
        "SELECT * FROM mlenv_runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern + "%",)
    ).fetchall()
    return [_record(r) for r in rows]


def _read_current(url: str, read: Callable[[sqlite3.Connection], _T]) -> _T | None:
    """What ``read`` gives on the workspace's current file (``current_file``);
    ``None`` when there is none or ``read`` fails (the usual store answers)."""
    path = current_file(url)
    if path is None:
        return None
    with _connected(path) as connection:
        try:
            return read(connection)
        except sqlite3.Error:
            return None


def try_compute_targets(url: str) -> list[ComputeTargetRecord] | None:
    """The registered compute targets by name, or ``None`` (see the module's note)."""

    def read(connection: sqlite3.Connection) -> list[ComputeTargetRecord]:
        rows = connection.execute(
            "SELECT name, kind, url, updated_at FROM mlenv_compute_targets ORDER BY name"
        )
        return [
            ComputeTargetRecord(name=r[0], kind=r[1], url=r[2], updated_at=r[3] or "") for r in rows
        ]

    return _read_current(url, read)


def try_registered_version(
    url: str, name: str, env_hash: str, version: str | None, definition: Mapping[str, Any]
) -> tuple[str, str, tuple[str, ...]] | None:
    """``(version, image, lock)`` of a run's registration that would
    change nothing in the workspace; ``None`` when the store must register
    (a new version, an archived one to revive, an image to point at) or
    this read cannot answer."""

    def read(connection: sqlite3.Connection) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
        images = connection.execute(
            "SELECT registry, repository, digest, lock FROM mlenv_images WHERE env_hash = ? "
            "ORDER BY id DESC LIMIT 1",
            (env_hash,),
        ).fetchall()
        query = "SELECT * FROM mlenv_versions WHERE name = ?"
        if version is None:
            versions = connection.execute(f"{query} ORDER BY id DESC LIMIT 1", (name,)).fetchall()
        else:
            versions = connection.execute(f"{query} AND version = ?", (name, version)).fetchall()
        return images, versions

    found = _read_current(url, read)
    if found is None:
        return None
    images, versions = found
    known = images[0] if images else None
    row = versions[0] if versions else None
    if row is None or row["env_hash"] != env_hash or row["archived_at"] is not None:
        return None
    if version is None:  # the latest version: only when its definition is this one
        stored = json.loads(row["definition"])
        if canonical_json(stored) != canonical_json(definition):
            return None
    image = f"{known[0]}/{known[1]}@{known[2]}" if known is not None else row["image"]
    if image and image != row["image"]:
        return None  # the version moves to the hash's current image: the store writes it
    lock = tuple(json.loads(known[3]) or ()) if known is not None else ()
    return row["version"], row["image"], lock
