"""The workspace use case: open a workspace database (creating its tables)."""

from __future__ import annotations

from pathlib import Path

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

__all__ = ["check_readable", "check_workspace_url", "open_workspace"]


def check_workspace_url(url: str) -> None:
    """Raise ``MlenvError`` unless ``url`` looks like a database URL."""
    if "://" not in url:
        raise MlenvError(
            f"url: '{url}' is not a database URL; give path= for a SQLite file, "
            "or a SQLAlchemy URL such as sqlite:///ws.db or postgresql+psycopg://host/db"
        )


def open_workspace(url: str, *, outside: Outside | None = None) -> None:
    """Open the workspace at ``url`` once (its tables are created when
    missing), then close it. Raises ``MlenvError`` when it cannot be opened."""
    with outside_or_real(outside).workspace(url):
        pass


def check_readable(url: str, *, outside: Outside | None = None) -> None:
    """Raise ``MlenvError`` when the workspace at ``url`` exists but cannot
    be read (a corrupt file, a server refusing the login): a preview must
    fail then, not report "unchanged" while the versions are out of reach.
    A SQLite file that does not exist yet is fine (``up`` creates it)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.exists():
            return
        # Every preview runs this before any environment: the standard
        # library's sqlite3 answers in milliseconds, where opening the store
        # (SQLAlchemy and the schema) costs about a second on the critical path.
        _check_sqlite(path, url)
        return
    with outside_or_real(outside).workspace(url) as workspace:
        workspace.count_versions()


def _check_sqlite(path: Path, url: str) -> None:
    """Raise ``MlenvError`` when the SQLite file cannot be read as a database."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise MlenvError(f"opening workspace {url}: {exc}") from None
