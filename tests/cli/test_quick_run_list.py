"""``mlenv run list`` answers from SQLite with the standard library (no
typer, SQLAlchemy or Alembic imported) and prints exactly what the full
command prints; anything it does not know goes to the full command line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.launch import parse_run_list
from pulumi_mlenv.cli.main import app
from pulumi_mlenv.service.run_reads import list_runs, quick_list_runs
from pulumi_mlenv.workspace import RunRecord, RunStatus, RunStore
from pulumi_mlenv.workspace.revisions import script_heads
from pulumi_mlenv.workspace.schema import head_revisions as alembic_heads

MLENV = str(Path(sys.executable).parent / "mlenv")


def record(run_id: str, created_at: str) -> RunRecord:
    return RunRecord(
        id=run_id, env_name="train", env_version="3", env_hash="a" * 64,
        image="127.0.0.1:5000/mlenv/env@sha256:" + "1" * 64, lock=("six==1.16.0",),
        compute="docker", compute_kind="docker", compute_url=None, source_hash="b" * 64,
        source_path="/cache/sources/b", script="train.py", arguments=("--epochs", "3"),
        variables=("TOKEN",), logs_path=f"/runs/{run_id}/output.log",
        outputs_path=f"/runs/{run_id}/outputs", created_at=created_at,
    )  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    store = RunStore(url)
    for i in range(3):
        store.add(record(f"run{i:09d}", f"2026-01-0{i + 1}T00:00:00+00:00"))
    store.finish("run000000000", RunStatus.COMPLETED, 0)
    store.finish("run000000001", RunStatus.FAILED, 3, "boom")
    store.finish("run000000002", RunStatus.CANCELLED, None, "interrupted")
    store.close()
    return url


def _mlenv(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLENV_WORKSPACE": url}
    return subprocess.run([MLENV, *args], env=env, capture_output=True, text=True, check=True)


def test_the_schema_heads_read_from_the_scripts_are_alembics():
    assert script_heads() == alembic_heads()


def test_the_quick_read_returns_what_the_store_returns(workspace: str):
    store = RunStore(workspace)
    try:
        for limit in (1, 2, 50):
            assert quick_list_runs(workspace, limit) == store.list(limit)
    finally:
        store.close()


def test_only_a_workspace_at_the_current_schema_is_read_quickly(tmp_path: Path, workspace: str):
    assert quick_list_runs(f"sqlite:///{tmp_path / 'missing.db'}", 5) is None
    assert quick_list_runs("postgresql+psycopg://u@127.0.0.1:1/db", 5) is None
    connection = sqlite3.connect(workspace.removeprefix("sqlite:///"))
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '0003'")
    connection.close()
    assert quick_list_runs(workspace, 5) is None  # the store must migrate it first


def test_an_unfinished_run_is_left_to_the_store_which_tells_live_from_lost(workspace: str):
    store = RunStore(workspace)
    try:
        store.add(record("run000000003", "2026-01-04T00:00:00+00:00"))
        assert quick_list_runs(workspace, 5) is None
        assert list_runs(workspace, 1)[0].status is RunStatus.QUEUED  # its owner is alive
    finally:
        store.close()


def test_list_runs_answers_through_the_store_where_the_quick_read_cannot(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert list_runs(url, 5) == []  # the store creates the workspace, as before
    assert quick_list_runs(url, 5) == []


def test_the_console_script_prints_what_the_command_prints(workspace: str):
    env = {"MLENV_WORKSPACE": workspace, "COLUMNS": "200"}
    for args in (
        ["run", "list"],
        ["run", "list", "--json", "-n", "2"],
        ["run", "list", "--limit=1"],
    ):
        quick = _mlenv(workspace, *args).stdout
        full = CliRunner().invoke(app, args, env=env)
        assert full.exit_code == 0, full.output
        assert quick == full.stdout
    listed = json.loads(_mlenv(workspace, "run", "list", "--json").stdout)
    assert [(r["id"], r["status"], r["exit_code"]) for r in listed][:2] == [
        ("run000000002", "cancelled", None),
        ("run000000001", "failed", 3),
    ]


def test_the_quick_path_imports_no_heavy_library(workspace: str):
    code = (
        "import sys; sys.argv = ['mlenv', 'run', 'list']\n"
        "from pulumi_mlenv.cli.launch import main; main()\n"
        "heavy = [m for m in ('typer', 'sqlalchemy', 'alembic', 'docker', 'requests') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "MLENV_WORKSPACE": workspace}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in done.stderr
    assert "run000000002" in done.stdout


def test_anything_else_goes_to_the_full_command_line(workspace: str):
    assert parse_run_list(["run", "list", "--help"]) is None
    assert parse_run_list(["run", "list", "-n", "x"]) is None
    assert parse_run_list(["run", "show", "abc"]) is None
    assert parse_run_list(["run", "list", "-n", "5", "--json"]) == (5, True)
    helped = _mlenv(workspace, "run", "list", "--help").stdout
    assert "--limit" in helped and "--json" in helped
    assert "Commands" in _mlenv(workspace, "--help").stdout
