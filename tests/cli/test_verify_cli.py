"""``mlenv image verify`` on what it cannot verify: a clear error, exit 1,
nothing built (the rebuilds themselves are in tests/test_reproducible.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLENV_WORKSPACE", f"sqlite:///{tmp_path / 'ws.db'}")


def test_help_names_the_builder_and_json_options() -> None:
    result = runner.invoke(app, ["image", "verify", "--help"])
    assert result.exit_code == 0
    assert "--builder" in result.stdout and "--json" in result.stdout


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("train:3", "no environment version train:3 in the workspace"),
        ("ab" * 32, "no image recorded for it in the workspace"),
    ],
)
def test_an_image_the_workspace_never_recorded_is_refused(query: str, message: str) -> None:
    result = runner.invoke(app, ["image", "verify", query])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
