"""Hostile definitions through the ``mlenv`` command a reviewer runs on a pull
request: one clean message and exit code 2, never a traceback, never the
content of a file the definition should not read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import EXIT_INVALID, app

SECRET = "TOPSECRET-next-to-the-pull-request"
runner = CliRunner()


def _mlenv(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a CI job runs it."""
    script = Path(sys.executable).with_name("mlenv")
    return subprocess.run([str(script), *args], capture_output=True, text=True, check=False)


def test_validate_refuses_files_outside_the_folder_without_showing_them(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    folder = tmp_path / "pr"
    folder.mkdir()
    (folder / "requirements.txt").write_text(
        "numpy==2.1.3\n-r /proc/self/environ\n-r ../secret.txt\n"
    )
    done = _mlenv("env", "validate", str(folder / "requirements.txt"))
    assert done.returncode == EXIT_INVALID, done.stderr
    assert "Traceback" not in done.stderr
    assert "requirements.txt:2: '/proc/self/environ' is outside the definition's folder" in (
        done.stderr
    )
    assert "requirements.txt:3: '../secret.txt' is outside" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert os.environ["PATH"] not in done.stdout + done.stderr


def test_hash_of_a_billion_laughs_is_one_clean_message(tmp_path: Path) -> None:
    lols = ", ".join(['"lol"'] * 9)
    lines = [f"name: laughs\nl0: &l0 [{lols}]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (tmp_path / "mlenv.yml").write_text("\n".join(lines) + "\ntags: {x: *l9}\n")
    done = _mlenv("env", "hash", str(tmp_path / "mlenv.yml"))
    assert done.returncode == EXIT_INVALID
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: invalid definition (1 problem):",
        "  mlenv.yml:6: holds more than 50000 values (the limit; an alias counts what it "
        "points to each time it is used); remove repeated aliases, or split the file",
    ]


@pytest.mark.parametrize(
    ("command", "text", "says"),
    [
        ("convert", "name: a\nversion: " + "9" * 5000 + "\n", "more than 256 digits"),
        ("explain", "name: a\ntags: " + "[" * 40 + "]" * 40 + "\n", "more than 32 levels deep"),
        ("validate", "name: a\npython:\n  conda_file: /dev/zero\n", "is outside"),
    ],
)
def test_other_commands_show_caps_as_clean_errors(
    tmp_path: Path, command: str, text: str, says: str
) -> None:
    path = str(tmp_path / "mlenv.yml")
    (tmp_path / "mlenv.yml").write_text(text)
    args = [path, path] if command == "explain" else [path]
    result = runner.invoke(app, ["env", command, *args])
    assert result.exit_code == EXIT_INVALID, result.output
    assert isinstance(result.exception, SystemExit)
    assert says in result.stderr


def test_root_widens_where_a_definition_may_read(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.txt").write_text("numpy==2.1.3\n")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("-r ../shared/base.txt\n")
    path = str(tmp_path / "svc" / "requirements.txt")
    refused = runner.invoke(app, ["env", "validate", path])
    assert refused.exit_code == EXIT_INVALID and "--root" in refused.stderr
    allowed = runner.invoke(app, ["env", "validate", "--root", str(tmp_path), path])
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.stdout.startswith("valid: svc (requirements, system-managed, 1 packages)")
