"""`mlenv env versions` lists the workspace's history (R6); `mlenv env explain
NAME:A NAME:B` says why two registered versions differ, installed packages
included. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.workspace import Holder, ImageRecord, Workspace

D1, D2 = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
IMAGE1, IMAGE2 = f"127.0.0.1:5000/mlenv/env@{D1}", f"127.0.0.1:5000/mlenv/env@{D2}"


def _definition(*pip: str) -> dict[str, object]:
    return {
        "name": "train",
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}},
    }


def _image(env_hash: str, digest: str, lock: tuple[str, ...]) -> ImageRecord:
    return ImageRecord(
        env_hash=env_hash,
        registry="127.0.0.1:5000",
        repository="mlenv/env",
        digest=digest,
        size=1,
        created="2026-01-01T00:00:00Z",
        base_image=None,
        base_digest=None,
        dockerfile="FROM x\n",
        lock=lock,
    )


@pytest.fixture
def cli(workspace_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A workspace with train:1 (archived), train:2 (held by a stack and a run)
    and scoring:4."""
    with Workspace(workspace_url) as ws:
        stack = Holder.stack("proj/dev")
        ws.register_version(
            "train",
            "a" * 64,
            version=None,
            image=IMAGE1,
            definition=_definition("numpy==2.1.3", "pyyaml"),
            holder=stack,
        )
        ws.register_version(
            "train",
            "b" * 64,
            version=None,
            image=IMAGE2,
            definition=_definition("numpy==2.2.0", "pyyaml"),
            holder=stack,
        )
        ws.release("train", "1", stack)
        ws.hold("train", "2", Holder("run", "r-7"))
        ws.register_version("scoring", "c" * 64, version="4", image=IMAGE1, definition={})
        ws.record_image(_image("a" * 64, D1, ("numpy==2.1.3", "pyyaml==6.0.1")))
        ws.record_image(_image("b" * 64, D2, ("numpy==2.2.0", "pyyaml==6.0.2")))
    monkeypatch.setenv("MLENV_WORKSPACE", workspace_url)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_versions_show_active_ones_with_status_and_holders(cli: CliRunner) -> None:
    result = cli.invoke(app, ["env", "versions", "train"])
    assert result.exit_code == 0, result.output
    assert "aaaaaaaaaaaa" not in result.output  # train:1 is archived: hidden
    line = next(x for x in result.output.splitlines() if "bbbbbbbbbbbb" in x)
    assert " 2 " in line and "active" in line and "run:r-7, stack:proj/dev" in line
    assert "scoring" not in result.output

    everything = cli.invoke(app, ["env", "versions", "train", "--all"])
    archived = next(x for x in everything.output.splitlines() if "aaaaaaaaaaaa" in x)
    assert "archived" in archived and " 1 " in archived


def test_versions_json_is_whole_and_parseable(cli: CliRunner) -> None:
    result = cli.invoke(app, ["env", "versions", "--all", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["name"], r["version"], r["status"]) for r in rows] == [
        ("scoring", "4", "active"),
        ("train", "1", "archived"),
        ("train", "2", "active"),
    ]
    assert rows[1]["archived"] and rows[1]["holders"] == [] and rows[1]["image"] == IMAGE1
    assert rows[2]["holders"] == ["run:r-7", "stack:proj/dev"] and rows[2]["hash"] == "b" * 64


def test_explain_two_registered_versions_includes_what_was_installed(cli: CliRunner) -> None:
    result = cli.invoke(app, ["env", "explain", "train:1", "train:2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "pip: numpy==2.1.3 -> numpy==2.2.0",
        "installed: numpy 2.1.3 -> 2.2.0",
        "installed: pyyaml 6.0.1 -> 6.0.2",  # unpinned: moved between the builds
    ]
    missing = cli.invoke(app, ["env", "explain", "train:1", "train:9"])
    assert missing.exit_code == 1
    assert "no environment version train:9 in the workspace" in missing.output
