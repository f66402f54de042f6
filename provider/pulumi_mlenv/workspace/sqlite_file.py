"""Is a workspace's SQLite file whole? Read from its header, without SQLite.

SQLite itself opens an emptied file as a new, empty database (and a file
cut at a page boundary as a smaller one): a workspace that lost every
version would then look fine, and a preview say "unchanged". So an existing
file must be a whole database before anything opens it: the SQLite header,
a page size it allows, a length that is a whole number of pages, and no
fewer pages than the header counts.

A new file is made whole before it is put in place (written beside it, then
linked under its name), so a process opening the workspace while another
creates it never sees the 0-byte file SQLite would otherwise leave there
for a moment.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

__all__ = ["HEADER", "check_sqlite_url", "create_whole", "sqlite_file_problem"]

HEADER = b"SQLite format 3\x00"
_FIX = "restore it from a backup, or move it away to start an empty workspace"


def _page_size(header: bytes) -> int | None:
    raw = int.from_bytes(header[16:18], "big")
    size = 65536 if raw == 1 else raw
    return size if 512 <= size <= 65536 and size & (size - 1) == 0 else None


def sqlite_file_problem(path: Path) -> str | None:
    """What is wrong with the existing file ``path`` as a SQLite database, in
    one line naming it; None when it is whole (or does not exist yet)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror}); {_FIX}"
    if size == 0:
        return f"{path} is empty (0 bytes): it holds no workspace; {_FIX}"
    if not header.startswith(HEADER):
        return f"{path} is not a SQLite database (its first bytes are not SQLite's); {_FIX}"
    page = _page_size(header) if len(header) == 100 else None
    if page is None:
        return f"{path} is truncated or damaged (no whole SQLite header); {_FIX}"
    if size % page:
        return f"{path} is truncated mid-page ({size} bytes, pages of {page}); {_FIX}"
    counted = int.from_bytes(header[28:32], "big")
    valid_for, changes = header[92:96], header[24:28]
    wal = Path(f"{path}-wal")
    # The page count is trusted only when SQLite marked it current and no
    # write-ahead log may be growing the file under us.
    busy = wal.exists() and os.path.getsize(wal) > 0
    if counted and valid_for == changes and not busy and size < counted * page:
        return f"{path} is truncated ({size // page} of {counted} pages); {_FIX}"
    return None


def create_whole(path: Path) -> None:
    """Put an empty but whole SQLite database at ``path`` unless a file is
    there (or its folder is missing: SQLite's own error says so later)."""
    if path.exists() or not path.parent.is_dir():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        connection = sqlite3.connect(partial)
        try:  # one write makes SQLite put its header and first page down
            connection.execute("CREATE TABLE mlenv_new (x)")
            connection.execute("DROP TABLE mlenv_new")
            connection.commit()
        finally:
            connection.close()
        with contextlib.suppress(FileExistsError):  # another process was first: use its file
            os.link(partial, path)
    except (OSError, sqlite3.Error):
        return  # the usual open reports what is wrong with the folder
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def check_sqlite_url(url: str) -> None:
    """Raise ``MlenvError`` (one line naming the file) when ``url`` (already
    normalised) is a SQLite file that exists but is not a whole database;
    a missing file is created whole first (``create_whole``)."""
    from sqlalchemy import make_url

    from pulumi_mlenv.errors import MlenvError

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):
        return  # a URI filename: SQLite's own options, memory or not
    path = Path(database).expanduser()
    create_whole(path)
    problem = sqlite_file_problem(path)
    if problem:
        raise MlenvError(f"workspace: {problem}")
