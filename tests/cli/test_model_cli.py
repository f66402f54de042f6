"""`mlenv model register|list|show` and `mlenv endpoint` on a workspace file
(the real database; no daemon needed). The scikit-learn model trained in a
real environment is shown in tests/resources/test_train_and_serve.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.workspace import ImageRecord, RunRecord, RunStatus, RunStore, Workspace

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"127.0.0.1:5000/mlenv/env@{DIGEST}"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ws = Workspace(url)
    ws.record_image(
        ImageRecord(
            env_hash="e" * 64, registry="127.0.0.1:5000", repository="mlenv/env", digest=DIGEST,
            size=1, created="2026-01-01", base_image=None, base_digest=None, dockerfile="",
            lock=("numpy==2.1.3", "scikit-learn==1.5.2"),
        )
    )  # fmt: skip
    ws.register_version("train", "e" * 64, version="3", image=IMAGE, definition={"name": "train"})
    monkeypatch.setenv("MLENV_WORKSPACE", url)
    monkeypatch.setenv("MLENV_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("COLUMNS", "200")
    return url


def test_register_list_show_with_lineage(workspace: str, tmp_path: Path) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights")
    runner = CliRunner()
    first = runner.invoke(app, ["model", "register", "iris", str(model), "-e", "train:3"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "iris:1"
    again = runner.invoke(app, ["model", "register", "iris", str(model)])
    assert again.stdout.strip() == "iris:1"  # same content, same version

    show = runner.invoke(app, ["model", "show", "iris"])
    assert show.exit_code == 0, show.output
    assert "environment:  train:3" in show.stdout
    assert f"digest:       {DIGEST}" in show.stdout
    assert "  scikit-learn==1.5.2" in show.stdout

    data = json.loads(runner.invoke(app, ["model", "show", "iris:1", "--json"]).stdout)
    assert data["lineage"]["environment"]["digest"] == DIGEST
    assert data["lineage"]["environment"]["lock"] == ["numpy==2.1.3", "scikit-learn==1.5.2"]
    listed = json.loads(runner.invoke(app, ["model", "list", "--json"]).stdout)
    assert [(m["name"], m["version"]) for m in listed] == [("iris", "1")]


def test_bad_input_is_named_and_nothing_is_registered(workspace: str, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["model", "register", "iris", str(tmp_path / "nope.pkl")])
    assert missing.exit_code == 2 and "path: no file or folder" in missing.output
    (tmp_path / "m").write_bytes(b"x")
    unknown_env = runner.invoke(
        app, ["model", "register", "iris", str(tmp_path / "m"), "-e", "x:9"]
    )
    assert (
        unknown_env.exit_code == 2
        and "environment: no environment version x:9" in unknown_env.output
    )
    assert json.loads(runner.invoke(app, ["model", "list", "--json"]).stdout) == []
    assert runner.invoke(app, ["model", "show", "iris"]).exit_code == 1
    no_endpoint = runner.invoke(app, ["endpoint", "invoke", "nope", "--data", str(tmp_path / "m")])
    assert no_endpoint.exit_code == 1 and "no endpoint nope" in no_endpoint.output


def _recorded_run(workspace: str, tmp_path: Path, status: RunStatus) -> str:
    outputs = tmp_path / "runs" / "r1" / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "model.pkl").write_bytes(b"weights from the run")
    store = RunStore(workspace)
    try:
        store.add(
            RunRecord(
                id="3f2a9c1e0b7d", env_name="train", env_version="3", env_hash="e" * 64,
                image=IMAGE, lock=("numpy==2.1.3", "scikit-learn==1.5.2"), compute="local",
                compute_kind="local", compute_url=None, source_hash="b" * 64,
                source_path=str(tmp_path), script="train.py", arguments=(), variables=(),
                logs_path=str(tmp_path / "runs" / "r1" / "output.log"),
                outputs_path=str(outputs),
            )
        )  # fmt: skip
        store.finish("3f2a9c1e0b7d", status, 0 if status is RunStatus.COMPLETED else 1)
    finally:
        store.close()
    return "3f2a9c1e0b7d"


def test_a_model_registered_from_a_run_walks_back_to_it(workspace: str, tmp_path: Path) -> None:
    run_id = _recorded_run(workspace, tmp_path, RunStatus.COMPLETED)
    runner = CliRunner()
    done = runner.invoke(app, ["model", "register", "iris", "model.pkl", "--run", run_id[:8]])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "iris:1"
    data = json.loads(runner.invoke(app, ["model", "show", "iris:1", "--json"]).stdout)
    lineage = data["lineage"]
    assert lineage["run_id"] == run_id
    assert lineage["environment"]["digest"] == DIGEST
    assert lineage["environment"]["lock"] == ["numpy==2.1.3", "scikit-learn==1.5.2"]
    shown = runner.invoke(app, ["model", "show", "iris"]).stdout
    assert run_id in shown and "train:3" in shown


def test_only_a_completed_runs_outputs_register(workspace: str, tmp_path: Path) -> None:
    run_id = _recorded_run(workspace, tmp_path, RunStatus.FAILED)
    runner = CliRunner()
    refused = runner.invoke(app, ["model", "register", "iris", "model.pkl", "--run", run_id])
    assert refused.exit_code == 2
    assert f"run {run_id} is failed, not completed" in refused.output
    both = runner.invoke(
        app, ["model", "register", "iris", "model.pkl", "--run", run_id, "-e", "train:3"]
    )
    assert both.exit_code == 2 and "give one" in both.output
    assert json.loads(runner.invoke(app, ["model", "list", "--json"]).stdout) == []
