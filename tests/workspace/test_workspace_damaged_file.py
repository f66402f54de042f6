"""A workspace file emptied, truncated (mid-page or at a page boundary) or
replaced by garbage: every door that opens it (the store, the serving
store, a preview's check of the Workspace resource) fails with one line
that names the file, and nothing is written to it (SQLite alone would open
an emptied file as a new, empty workspace: a preview would say
"unchanged" while every version is gone)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.resources.workspace import WorkspaceProvider
from pulumi_mlenv.workspace import Workspace
from pulumi_mlenv.workspace.serving_store import ServingStore

PAGE = 4096


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real workspace of several pages, closed (checkpointed)."""
    path = tmp_path_factory.mktemp("whole") / "ws.db"
    code = (
        "import sys; from pulumi_mlenv.workspace import Workspace; Workspace(sys.argv[1]).close()"
    )
    subprocess.run([sys.executable, "-c", code, f"sqlite:///{path}"], check=True)
    with sqlite3.connect(path) as db:  # more pages, as a used workspace has
        db.execute("CREATE TABLE filler (x TEXT)")
        db.executemany("INSERT INTO filler VALUES (?)", [("x" * 2000,)] * 40)
    db.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    data = path.read_bytes()
    assert len(data) >= 10 * PAGE
    return data


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "emptied": (lambda d: b"", "is empty (0 bytes)"),
    "truncated mid-page": (lambda d: d[: 5 * PAGE + 1234], "is truncated mid-page"),
    "truncated at a page": (lambda d: d[: 5 * PAGE], "is truncated (5 of"),
    "garbage": (lambda d: b"\x00\xffgarbage" * 3000, "is not a SQLite database"),
    "garbage after a header": (lambda d: d[:16] + b"\x00" * 100, "truncated or damaged"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_workspace_file_fails_every_door_in_one_line(
    tmp_path: Path, whole: bytes, damage: str
) -> None:
    cut, words = DAMAGE[damage]
    path = tmp_path / "ws.db"
    path.write_bytes(cut(whole))
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    for door in (lambda: Workspace(url).count_versions(), lambda: ServingStore(url)):
        with pytest.raises(MlenvError) as err:
            door()
        message = str(err.value)
        assert str(path) in message and words in message, message
        assert "\n" not in message and "Traceback" not in message
    failures = WorkspaceProvider().check({}, {"url": url}).failures
    assert [f.property for f in failures] == ["url"]
    assert words in failures[0].reason and str(path) in failures[0].reason
    assert path.read_bytes() == before  # nothing written: the evidence stays


def test_a_whole_workspace_file_opens(tmp_path: Path, whole: bytes) -> None:
    path = tmp_path / "ws.db"
    path.write_bytes(whole)
    with Workspace(f"sqlite:///{path}") as ws:
        assert ws.count_versions() == 0
    assert WorkspaceProvider().check({}, {"url": f"sqlite:///{path}"}).failures == []


def test_a_new_workspace_file_is_never_seen_empty(tmp_path: Path) -> None:
    """A new file is made whole beside its name, then linked in: a process
    opening it meanwhile sees no file or a whole one, never 0 bytes."""
    from pulumi_mlenv.workspace.sqlite_file import create_whole, sqlite_file_problem

    path = tmp_path / "workspace.db"
    create_whole(path)
    assert path.stat().st_size > 0 and sqlite_file_problem(path) is None
    assert list(tmp_path.iterdir()) == [path]  # nothing left beside it
    before = path.read_bytes()
    create_whole(path)  # an existing file is left as it is
    assert path.read_bytes() == before
    create_whole(tmp_path / "missing" / "workspace.db")
    assert not (tmp_path / "missing").exists()
    with Workspace(f"sqlite:///{path}") as ws:  # and it opens as a workspace
        assert ws.list_versions(None) == []
