"""Reading run records from a SQLite workspace with the standard library.

``mlenv run list`` is a read a user types often: opening the store through
SQLAlchemy and Alembic costs most of a second before the first row, the
standard library's ``sqlite3`` a few milliseconds. This path reads only a
workspace that is already at the code's schema revision; anything else (no
file yet, an older or newer schema, a database it cannot read) answers
``None`` and the caller opens the store the usual way, which migrates,
refuses or reports as it always does.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from pathlib import Path
from typing import Any

from pulumi_mlenv.workspace.revisions import VERSION_TABLE, script_heads
from pulumi_mlenv.workspace.runs import RunRecord, RunStatus

__all__ = ["record_of_row", "sqlite_path", "try_list_runs"]

_BUSY_SECONDS = 10.0


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` workspace URL or a plain path; ``None``
    for any other database (or an in-memory one)."""
    text = url.strip()
    if "://" not in text:
        return Path(text).expanduser().resolve() if text else None
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if text.startswith(prefix):
            rest = text.removeprefix(prefix)
            if not rest or rest.startswith(":memory:") or "?" in rest:
                return None
            return Path(rest).expanduser()
    return None


def record_of_row(row: sqlite3.Row, json_columns: frozenset[str]) -> RunRecord:
    """A ``RunRecord`` from a row of ``mlenv_runs`` read by ``sqlite3``
    (``json_columns``: the columns that hold JSON text)."""
    values: dict[str, Any] = {}
    for f in fields(RunRecord):
        value = row[f.name]
        if f.name in json_columns:
            loaded = json.loads(value) if value is not None else None
            # JSON lists are tuples on the record, JSON objects dicts.
            value = dict(loaded or {}) if f.name == "details" else tuple(loaded or ())
        values[f.name] = value
    values["status"] = RunStatus(values["status"])
    return RunRecord(**values)


def try_list_runs(url: str, limit: int) -> list[RunRecord] | None:
    """The latest ``limit`` runs, newest first, as ``RunStore.list`` gives
    them, or ``None`` when this read cannot answer (see the module's note)."""
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        connection = sqlite3.connect(path, timeout=_BUSY_SECONDS)
    except sqlite3.Error:
        return None
    try:
        connection.row_factory = sqlite3.Row
        current = {r[0] for r in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")}
        if current != script_heads():
            return None
        columns = {
            r["name"]: r["type"] for r in connection.execute("PRAGMA table_info(mlenv_runs)")
        }
        if any(f.name not in columns for f in fields(RunRecord)):
            return None
        json_columns = frozenset(name for name, kind in columns.items() if kind.upper() == "JSON")
        rows = connection.execute(
            "SELECT * FROM mlenv_runs ORDER BY created_at DESC, id LIMIT ?", (limit,)
        ).fetchall()
        records = [record_of_row(row, json_columns) for row in rows]
        if any(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in records):
            return None  # the store's read tells a live run from a lost one
        return records
    except (sqlite3.Error, ValueError, KeyError):
        return None
    finally:
        connection.close()
