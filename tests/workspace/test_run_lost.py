"""A run whose process died is recorded ``lost`` by the next read of the
runs, on the owner's host at once (its pid is gone, or now another
process's), elsewhere once its heartbeat is older than the lost-after time;
a live run is left alone."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pulumi_mlenv.workspace import RunRecord, RunStatus, RunStore
from pulumi_mlenv.workspace.run_owner import gone_reason, this_owner


def record(run_id: str) -> RunRecord:
    return RunRecord(
        id=run_id, env_name="train", env_version="1", env_hash="a" * 64, image=None,
        lock=(), compute="local", compute_kind="local", compute_url=None,
        source_hash="b" * 64, source_path="/src", script="train.py", arguments=(),
        variables=(), logs_path="/runs/log", outputs_path="/runs/outputs",
    )  # fmt: skip


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _set(db: Path, run_id: str, **values: str) -> None:
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for key, value in values.items():
            conn.execute(text(f"UPDATE mlenv_runs SET {key} = :v WHERE id = :i"),
                         {"v": value, "i": run_id})  # fmt: skip
    engine.dispose()


def test_a_live_owner_on_this_host_is_not_lost() -> None:
    assert gone_reason(this_owner(), None, NOW) is None


def test_a_dead_or_reused_pid_on_this_host_is_lost() -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    assert "ended without recording" in str(
        gone_reason(f"{host} {proc.stdout.strip()} 1", None, NOW)
    )
    host_, pid, _ = this_owner().split(" ")
    assert "pid" in str(gone_reason(f"{host_} {pid} 12345", None, NOW))  # another start time


def test_another_hosts_run_is_lost_once_its_heartbeat_is_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLENV_RUN_LOST_SECONDS", "60")
    fresh = (NOW - timedelta(seconds=30)).isoformat()
    old = (NOW - timedelta(seconds=61)).isoformat()
    assert gone_reason("elsewhere 42 7", fresh, NOW) is None
    assert "no heartbeat from its process (pid 42 on elsewhere)" in str(
        gone_reason("elsewhere 42 7", old, NOW)
    )


def test_reading_the_runs_records_a_dead_owners_run_lost(tmp_path: Path) -> None:
    db = tmp_path / "ws.db"
    store = RunStore(str(db))
    try:
        alive = store.add(record("aaaaaaaaaaaa"))
        store.mark_running(alive.id)
        dead = store.add(record("bbbbbbbbbbbb"))
        store.mark_running(dead.id)
        _set(db, dead.id, owner=f"{socket.gethostname()} 999999999 1")
        runs = {r.id: r for r in store.list()}
        assert runs[alive.id].status is RunStatus.RUNNING
        lost = runs[dead.id]
        assert lost.status is RunStatus.LOST and lost.ended_at
        assert lost.error and lost.error.startswith("lost: the process that ran it (pid 999999999")
        assert store.get(dead.id).status is RunStatus.LOST  # final: it stays so
        assert store.finish(alive.id, RunStatus.COMPLETED, 0).status is RunStatus.COMPLETED
    finally:
        store.close()
