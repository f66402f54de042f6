"""`mlenv ui`'s front door: which workspace, which port, and the errors a
person meets before anything is served."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.cli.ui_commands import workspace_url_of
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.ui.server import bind, serve
from pulumi_mlenv.workspace import Workspace


def test_help_names_the_port_and_the_workspace() -> None:
    result = CliRunner().invoke(app, ["ui", "--help"])
    assert result.exit_code == 0
    for word in ("--port", "--workspace", "127.0.0.1", "read-only"):
        assert word in result.output


def test_a_missing_workspace_is_an_error_and_stays_missing(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    result = CliRunner().invoke(app, ["ui", "--workspace", str(path)])
    assert result.exit_code == 1
    assert f"error: no workspace at {path}" in result.output
    assert not path.exists()


def test_a_port_out_of_range_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(MlenvError, match=r"--port: 70000 is not a port number"):
        bind(70000)


def test_a_taken_port_names_it(tmp_path: Path) -> None:
    taken = bind(0)
    port = taken.getsockname()[1]
    try:
        Workspace(f"sqlite:///{tmp_path / 'ws.db'}").close()  # a real, empty workspace
        with pytest.raises(MlenvError, match=rf"--port: cannot listen on 127\.0\.0\.1:{port}"):
            serve(f"sqlite:///{tmp_path / 'ws.db'}", port, ready=lambda _: None)
    finally:
        taken.close()


def test_port_0_is_one_the_system_gives_on_loopback_only() -> None:
    sock = bind(0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.family == socket.AF_INET
    finally:
        sock.close()


def test_workspace_option_takes_a_url_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workspace_url_of("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.chdir(tmp_path)
    assert workspace_url_of("ws.db") == f"sqlite:///{tmp_path / 'ws.db'}"
    monkeypatch.setenv("MLENV_WORKSPACE", "sqlite:///elsewhere.db")
    assert workspace_url_of(None) == "sqlite:///elsewhere.db"


def test_a_corrupt_workspace_is_said_once_at_the_start(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(app, ["ui", "--workspace", str(path)])
    assert result.exit_code == 1
    assert "broken.db is not a SQLite database" in result.output
    assert result.output.count("error:") == 1
