"""The standard library's run store and reads (``workspace.sqlite_runs``)
on the same SQLite file as the SQLAlchemy stores: what one writes the other
reads the same, the errors say the same, and anything not at the current
schema is left to the usual store."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace import ImageRecord, RunRecord, RunStatus, RunStore, Workspace
from pulumi_mlenv.workspace.sqlite_runs import (
    SqliteRunStore,
    current_file,
    try_compute_targets,
    try_registered_version,
)

H1, D1 = "a" * 64, "sha256:" + "1" * 64
DEFINITION = {"name": "train", "python": {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}}}


def record(run_id: str, created_at: str = "") -> RunRecord:
    return RunRecord(
        id=run_id, env_name="train", env_version="3", env_hash=H1, image=None,
        lock=("six==1.16.0",), compute="local", compute_kind="local", compute_url=None,
        source_hash="b" * 64, source_path="/cache/sources/b", script="train.py",
        arguments=("--epochs", "3"), variables=("TOKEN",), logs_path=f"/runs/{run_id}/log",
        outputs_path=f"/runs/{run_id}/outputs", created_at=created_at,
        details={"job": "x", "n": 1},
    )  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    RunStore(url).close()  # made and migrated by the usual store
    return url


def quick(url: str) -> SqliteRunStore:
    path = current_file(url)
    assert path is not None
    return SqliteRunStore(url, path)


@pytest.mark.parametrize("writer", ["stdlib", "sqlalchemy"])
def test_what_one_store_writes_the_other_reads_the_same(url: str, writer: str):
    store_a = RunStore(url)
    store_b = quick(url)
    write, read = (store_b, store_a) if writer == "stdlib" else (store_a, store_b)
    added = write.add(record("run000000001"))
    assert added.owner and added.heartbeat_at == added.created_at
    assert read.get("run000000001") == added
    running = write.mark_running("run000000001")
    assert running.status is RunStatus.RUNNING and running.started_at
    write.beat("run000000001")
    done = write.finish("run000000001", RunStatus.FAILED, 3, "boom")
    assert (done.status, done.exit_code, done.error) == (RunStatus.FAILED, 3, "boom")
    assert read.get("run0000") == done == write.get("run000000001")
    write.add(record("run000000002", "2027-01-01T00:00:00+00:00"))
    assert read.list(5) == write.list(5)
    assert [r.id for r in read.list(5)] == ["run000000002", "run000000001"]
    store_a.close()


def test_the_errors_are_the_stores_errors(url: str):
    store_a, store_b = RunStore(url), quick(url)
    for run_id in ("run0000000a1", "run0000000a2"):
        store_a.add(record(run_id))
    for store in (store_a, store_b):
        with pytest.raises(MlenvError, match="ambiguous: give more characters"):
            store.get("run0000000a")
        with pytest.raises(MlenvError, match=r"no run 'nope' in the workspace \(mlenv run list"):
            store.get("nope")
        with pytest.raises(MlenvError, match="no run missing in the workspace"):
            store.mark_running("missing")
        with pytest.raises(ValueError, match="not a final status"):
            store.finish("run0000000a1", RunStatus.RUNNING, None)
    # LIKE's wildcards in a prefix are plain characters.
    with pytest.raises(MlenvError, match="no run 'run_%"):
        store_b.get("run_%")
    store_a.close()


def test_a_run_whose_process_died_is_swept_lost_by_either_store(url: str):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    store_b = quick(url)
    added = store_b.add(record("run000000009"))
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    with connection:  # the owner: a process of this host that has ended
        host = added.owner.split(" ")[0] if added.owner else ""
        connection.execute(
            "UPDATE mlenv_runs SET owner = ? WHERE id = ?",
            (f"{host} {dead.stdout.strip()} 1", added.id),
        )
    connection.close()
    lost = store_b.sweep()
    assert [r.id for r in lost] == ["run000000009"]
    assert lost[0].status is RunStatus.LOST and "ended without recording its end" in (
        lost[0].error or ""
    )
    store_a = RunStore(url)
    assert store_a.get("run000000009") == lost[0]
    assert store_a.sweep() == [] and store_b.sweep() == []
    store_a.close()


def test_only_a_whole_file_at_the_current_schema_is_opened(tmp_path: Path, url: str):
    assert current_file(f"sqlite:///{tmp_path / 'missing.db'}") is None
    assert current_file("postgresql+psycopg://u@127.0.0.1:1/db") is None
    assert current_file("sqlite:///:memory:") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert current_file(f"sqlite:///{empty}") is None  # the store says what is wrong with it
    path = Path(url.removeprefix("sqlite:///"))
    assert current_file(url) == path and current_file(str(path)) == path
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '0003'")
    connection.close()
    assert current_file(url) is None  # the usual store migrates it first
    assert try_compute_targets(url) is None
    assert try_registered_version(url, "train", H1, None, DEFINITION) is None


def test_compute_targets_read_as_the_workspace_lists_them(url: str):
    with Workspace(url) as ws:
        ws.upsert_compute_target("spark-b", "spark", "spark://127.0.0.1:7077")
        ws.upsert_compute_target("a-ray", "ray", "http://127.0.0.1:8265")
        assert try_compute_targets(url) == ws.list_compute_targets()


def image(digest: str = D1) -> ImageRecord:
    return ImageRecord(
        env_hash=H1, registry="127.0.0.1:5000", repository="mlenv/train", digest=digest,
        size=1, created="2026-01-01T00:00:00Z", base_image=None, base_digest=None,
        dockerfile="FROM x\n", lock=("six==1.16.0",), build_seconds=1.0, forced=False,
    )  # fmt: skip


def test_a_host_registration_is_read_only_when_the_store_would_change_nothing(url: str):
    assert try_registered_version(url, "train", H1, None, DEFINITION) is None  # nothing registered
    with Workspace(url) as ws:
        ws.register_version("train", H1, version=None, image="", definition=DEFINITION)
        assert try_registered_version(url, "train", H1, None, DEFINITION) == ("1", "", ())
        assert (
            try_registered_version(url, "train", "c" * 64, None, DEFINITION) is None
        )  # a new hash
        other = {**DEFINITION, "description": "x"}
        assert try_registered_version(url, "train", H1, None, other) is None  # another definition
        ws.record_image(image())  # a docker run built its image: the version moves to it
        assert try_registered_version(url, "train", H1, None, DEFINITION) is None
        moved = ws.register_version(
            "train", H1, version=None, image=image().image, definition=DEFINITION
        )
        assert try_registered_version(url, "train", H1, None, DEFINITION) == (
            moved.version, image().image, ("six==1.16.0",)
        )  # fmt: skip
        ws.register_version("train", H1, version="v2", image=image().image, definition=DEFINITION)
        assert try_registered_version(url, "train", H1, "v2", DEFINITION) == (
            "v2", image().image, ("six==1.16.0",)
        )  # fmt: skip
        ws.release("train", "v2", None)  # archived: the store makes it active again
        assert try_registered_version(url, "train", H1, "v2", DEFINITION) is None


def test_the_run_store_of_the_outside_world_is_the_quick_one_on_a_current_file(url: str):
    from pulumi_mlenv.service.compose import real_outside

    store = real_outside().runs(url)
    assert isinstance(store, SqliteRunStore)
    code = (
        "import sys\n"
        "from pulumi_mlenv.service.compose import real_outside\n"
        f"real_outside().runs({url!r}).list(1)\n"
        "from pulumi_mlenv.service.compute_targets import compute_targets\n"
        "from pulumi_mlenv.config import Settings\n"
        f"compute_targets(Settings.from_env(), {url!r})\n"
        "print([m for m in ('sqlalchemy', 'alembic') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ})  # fmt: skip
    assert done.stdout.strip() == "[]"
