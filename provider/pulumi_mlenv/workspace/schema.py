"""The workspace schema's revision: brought up to date when a workspace is
opened, through the Alembic migrations shipped in ``workspace/migrations``.

- A fresh database gets every migration.
- A database made before migrations existed (tables, no ``alembic_version``)
  is stamped ``0001`` (that schema) and upgraded, with one line on stderr.
- A database at a revision this code does not know (made by a newer
  pulumi-mlenv) is refused: nothing is written to it.

Several processes may open one fresh database at once: the upgrade runs under
a lock (PostgreSQL: a transaction-level advisory lock; SQLite: ``BEGIN
IMMEDIATE``) and re-reads the revision inside it. Each process checks a URL
once.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, make_url, text

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace.revisions import VERSION_TABLE, script_heads

if TYPE_CHECKING:
    # Alembic is imported only when a schema must move (or be refused): a
    # workspace at the current revision is checked with one query.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "LEGACY_REVISION",
    "SchemaTooNew",
    "head_revisions",
    "open_migrated",
    "opening_errors",
    "upgrade",
]

#: The schema pulumi-mlenv created before it had migrations.
LEGACY_REVISION = "0001"
#: Any table of that schema: present without ``alembic_version`` = legacy.
_LEGACY_TABLE = "mlenv_versions"
#: Advisory lock key of schema upgrades on PostgreSQL (any constant bigint).
_PG_SCHEMA_LOCK = 0x6D6C656E76_01

_checked: set[str] = set()


class SchemaTooNew(MlenvError):
    """The database was upgraded by a newer pulumi-mlenv than this one."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    location = resources.files("pulumi_mlenv.workspace") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head_revisions() -> frozenset[str]:
    """The revisions a database is at once fully upgraded (one per branch)."""
    return frozenset(_scripts().get_heads())


def _known() -> frozenset[str]:
    return frozenset(s.revision for s in _scripts().walk_revisions())


def _current(connection: Connection) -> frozenset[str]:
    """The database's revisions (none: a fresh or pre-migration database)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(str(row[0]) for row in rows)


def _refuse_unknown(current: frozenset[str], shown_url: str) -> None:
    unknown = current - _known()
    if unknown:
        raise SchemaTooNew(
            f"workspace {shown_url} has schema revision {', '.join(sorted(unknown))}, newer "
            f"than this pulumi-mlenv knows (up to {', '.join(sorted(head_revisions()))}): "
            "upgrade pulumi-mlenv (pip install -U pulumi-mlenv) to use it; nothing was changed"
        )


def opening_errors() -> tuple[type[Exception], ...]:
    """What opening a workspace may raise that means "cannot be opened", for
    ``except`` clauses: Alembic's own error only once Alembic is imported
    (only an upgrade imports it, and only then can it be raised)."""
    from sqlalchemy.exc import SQLAlchemyError

    errors: tuple[type[Exception], ...] = (ValueError, ImportError, OSError, SQLAlchemyError)
    alembic_exc = sys.modules.get("alembic.util.exc")
    return errors if alembic_exc is None else (*errors, alembic_exc.CommandError)


def upgrade(engine: Engine, url: str, shown_url: str) -> None:
    """Bring the database of ``engine`` to the code's schema, or refuse it.

    ``shown_url`` is the URL with any password masked, for messages.
    """
    if url in _checked:
        return
    with engine.connect() as connection:
        current = _current(connection)
        connection.rollback()
    if current != script_heads():
        _refuse_unknown(current, shown_url)
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
            _upgrade_locked(connection, shown_url)
    database = make_url(url).database or ""
    if database not in ("", ":memory:") and not database.startswith("file::memory:"):
        _checked.add(url)  # every in-memory database is a new one


def _upgrade_locked(connection: Connection, shown_url: str) -> None:
    current = _current(connection)  # another process may have upgraded meanwhile
    _refuse_unknown(current, shown_url)
    if current == head_revisions():
        return
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    legacy = not current and inspect(connection).has_table(_LEGACY_TABLE)
    if legacy:
        command.stamp(config, LEGACY_REVISION)
    command.upgrade(config, "heads")
    if current or legacy:
        was = ", ".join(sorted(current)) or f"{LEGACY_REVISION} (made before migrations)"
        now = ", ".join(sorted(head_revisions()))
        print(
            f"mlenv: workspace {shown_url}: schema upgraded from revision {was} to {now}; "
            "every row is kept",
            file=sys.stderr,
        )


def driver_hint(exc: BaseException) -> str:
    """The fix for a PostgreSQL URL without its driver installed (an extra)."""
    if isinstance(exc, ImportError) and "psycopg" in str(exc):
        return "; install the PostgreSQL driver: pip install 'pulumi-mlenv[postgres]'"
    return ""


def open_migrated(url: str, what: str) -> tuple[str, Engine]:
    """``(normalised URL, engine)`` of the workspace at ``url``, its schema
    brought up to date by the same migrations as every store (one schema,
    one history). Raises ``MlenvError`` saying it was opening ``what``."""
    from pulumi_mlenv.errors import MlenvError
    from pulumi_mlenv.workspace._tables import open_engine
    from pulumi_mlenv.workspace.sqlite_file import check_sqlite_url
    from pulumi_mlenv.workspace.urls import normalise_url

    try:
        normalised = normalise_url(url)
        check_sqlite_url(normalised)
        engine = open_engine(normalised)
        upgrade(engine, normalised, make_url(normalised).render_as_string())
    except opening_errors() as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        raise MlenvError(f"opening {what}: {reason}{driver_hint(exc)}") from None
    return normalised, engine
