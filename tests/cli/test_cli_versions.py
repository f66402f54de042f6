"""`mlenv env versions` lists what the workspace holds (R6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.workspace import Workspace

IMAGE = "127.0.0.1:5000/mlenv/env@sha256:" + "ab" * 32


def test_versions_are_listed_with_their_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ws = Workspace(url)
    ws.register_version("train", "a" * 64, version=None, image=IMAGE, definition={"name": "train"})
    ws.register_version("train", "b" * 64, version=None, image=IMAGE, definition={"name": "train"})
    ws.register_version("scoring", "c" * 64, version="4", image=IMAGE, definition={})
    monkeypatch.setenv("MLENV_WORKSPACE", url)
    monkeypatch.setenv("COLUMNS", "160")

    result = CliRunner().invoke(app, ["env", "versions", "train"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "train" in line and "aaaa" in line]
    assert len(lines) == 1 and " 1 " in lines[0]
    assert "bbbbbbbbbbbb" in result.output
    assert "scoring" not in result.output

    everything = CliRunner().invoke(app, ["env", "versions"])
    assert "scoring" in everything.output and "cccccccccccc" in everything.output
