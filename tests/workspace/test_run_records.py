"""Run records in the workspace: status moves, names of variables only,
lookups by id prefix, newest first."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace import RunRecord, RunStatus, RunStore, Workspace
from pulumi_mlenv.workspace._tables import Base


def record(run_id: str = "0123456789ab", **kw: object) -> RunRecord:
    fields: dict[str, object] = {
        "id": run_id,
        "env_name": "train",
        "env_version": "3",
        "env_hash": "a" * 64,
        "image": "127.0.0.1:5000/mlenv/env@sha256:" + "1" * 64,
        "lock": ("six==1.16.0",),
        "compute": "docker",
        "compute_kind": "docker",
        "compute_url": "unix:///var/run/docker.sock",
        "source_hash": "b" * 64,
        "source_path": "/cache/sources/" + "b" * 64,
        "script": "train.py",
        "arguments": ("--epochs", "3"),
        "variables": ("TOKEN", "MODE"),
        "logs_path": f"/runs/{run_id}/output.log",
        "outputs_path": f"/runs/{run_id}/outputs",
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(str(tmp_path / "ws.db"))


def test_a_run_moves_from_queued_to_running_to_an_end(store: RunStore):
    added = store.add(record())
    assert added.status is RunStatus.QUEUED and added.created_at
    running = store.mark_running(added.id)
    assert running.status is RunStatus.RUNNING and running.started_at and running.ended_at is None
    done = store.finish(added.id, RunStatus.FAILED, 3)
    assert (done.status, done.exit_code, done.error) == (RunStatus.FAILED, 3, None)
    assert done.ended_at and done.ended_at >= done.started_at  # type: ignore[operator]
    assert store.get(added.id) == done
    with pytest.raises(ValueError, match="not a final status"):
        store.finish(added.id, RunStatus.RUNNING, None)


def test_everything_recorded_comes_back(store: RunStore):
    stored = store.add(record(rerun_of="fedcba987654"))
    again = store.get(stored.id)
    assert again == stored
    assert again.lock == ("six==1.16.0",) and again.arguments == ("--epochs", "3")
    assert json.loads(json.dumps(again.to_dict()))["status"] == "queued"


def test_lookup_by_unique_prefix_and_clear_errors(store: RunStore):
    store.add(record("abcd00000001"))
    store.add(record("abcd00000002"))
    store.add(record("ef0000000003"))
    assert store.get("ef00").id == "ef0000000003"
    with pytest.raises(MlenvError, match="ambiguous"):
        store.get("abcd")
    with pytest.raises(MlenvError, match=r"no run 'nope0000'.*mlenv run list"):
        store.get("nope0000")


def test_list_is_newest_first(store: RunStore):
    for i in range(3):
        store.add(record(f"run{i:09d}", created_at=f"2026-01-0{i + 1}T00:00:00+00:00"))
    assert [r.id for r in store.list()] == ["run000000002", "run000000001", "run000000000"]
    assert [r.id for r in store.list(limit=1)] == ["run000000002"]


def test_runs_share_the_workspace_file_and_metadata(tmp_path: Path):
    url = str(tmp_path / "ws.db")
    Workspace(url).upsert_compute_target("spark-local", "spark", "spark://127.0.0.1:7077")
    store = RunStore(url)
    store.add(record())
    assert "mlenv_runs" in Base.metadata.tables
    assert Workspace(url).get_compute_target("spark-local") is not None
    assert len(store.list()) == 1


def test_only_variable_names_are_columns():
    """Values never reach the table: it has no column that could hold them."""
    columns = set(Base.metadata.tables["mlenv_runs"].columns.keys())
    assert "variables" in columns
    assert not {c for c in columns if "value" in c or "secret" in c}
    assert replace(record(), variables=("A",)).to_dict()["variables"] == ["A"]
