"""``mlenv run submit`` starts without typer (``cli/launch.py``): the same
use case, the same report (``cli/run_exec.py``), the same exit code and
records as the full command; any form it does not know goes to the full
command line. A host run on a current SQLite workspace imports neither
typer, SQLAlchemy, Alembic, requests nor the Docker SDK."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.launch import SubmitArgs, parse_run_submit
from pulumi_mlenv.cli.main import app

MLENV = str(Path(sys.executable).parent / "mlenv")
# The interpreter given, and a base pinned by digest: no daemon is asked.
DEFINITION = f"""\
name: quick
python:
  user_managed: true
  interpreter_path: {sys.executable}
docker:
  base_image: 127.0.0.1:5000/mlenv/python@sha256:{"0" * 64}
environment_variables:
  GREETING: hello
"""
SCRIPT = """\
import os, sys
print("greeting", os.environ["GREETING"], *sys.argv[1:])
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "mlenv.yml").write_text(DEFINITION)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "job.py").write_text(SCRIPT)
    return {
        "MLENV_WORKSPACE": f"sqlite:///{tmp_path / 'ws.db'}",
        "MLENV_RUNS_DIR": str(tmp_path / "runs"),
        "MLENV_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "200",
    }


def _ids(text: str) -> str:
    return re.sub(r"\b[0-9a-f]{12}\b", "RUNID", text)


def _both(
    tmp_path: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], Any]:
    argv = ["run", "submit", str(tmp_path / "src" / "job.py"), "--env", str(tmp_path / "mlenv.yml"),
            *args]  # fmt: skip
    quick = subprocess.run([MLENV, *argv], env={**os.environ, **env}, capture_output=True,
                           text=True)  # fmt: skip
    full = CliRunner().invoke(app, argv, env=env)
    return quick, full


def test_the_quick_path_reports_what_the_command_reports(tmp_path: Path, machine: dict[str, str]):
    for args in ((), ("--compute", "local", "--", "3"), ("-c", "local", "--json")):
        quick, full = _both(tmp_path, machine, *args)
        assert quick.returncode == full.exit_code, (quick.stderr, full.output)
        if "--json" in args:
            quick_doc = json.loads(quick.stdout)
            full_doc = json.loads(full.stdout)
            assert quick_doc.keys() == full_doc.keys() and quick_doc["status"] == "completed"
            assert quick_doc["environment"] == full_doc["environment"]
        else:
            assert quick.stdout == full.stdout
            assert _ids(quick.stderr) == _ids(full.stderr)
    assert quick.returncode == 0
    failed, _ = _both(tmp_path, machine, "--", "3")
    assert failed.returncode == 3
    assert "greeting hello 3" in failed.stdout
    assert "failed with exit code 3; last lines of" in failed.stderr
    listed = json.loads(CliRunner().invoke(app, ["run", "list", "--json"], env=machine).stdout)
    assert [r["exit_code"] for r in listed] == [3, 3, 0, 0, 3, 3, 0, 0]
    assert {r["environment"]["name"] for r in listed} == {"quick"}
    assert len({r["environment"]["version"] for r in listed}) == 1  # registered once


def test_a_bad_definition_is_reported_the_same_way(tmp_path: Path, machine: dict[str, str]):
    (tmp_path / "mlenv.yml").write_text("name: quick\npython: {user_managed: maybe}\n")
    quick, full = _both(tmp_path, machine)
    assert quick.returncode == full.exit_code == 2
    assert quick.stderr == full.stderr and quick.stderr.startswith("error: ")


def test_a_host_run_imports_no_heavy_library(tmp_path: Path, machine: dict[str, str]):
    argv = ["mlenv", "run", "submit", str(tmp_path / "src" / "job.py"), "--env",
            str(tmp_path / "mlenv.yml")]  # fmt: skip
    code = (
        f"import sys; sys.argv = {argv!r}\n"
        "from pulumi_mlenv.cli.launch import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\n"
        "heavy = [m for m in ('typer', 'rich', 'sqlalchemy', 'alembic', 'docker', 'requests') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    env = {**os.environ, **machine}
    subprocess.run([MLENV, *argv[1:]], env=env, check=True, capture_output=True)  # makes the file
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "HEAVY [] 0" in done.stderr
    assert "greeting hello" in done.stdout


def test_forms_it_does_not_know_go_to_the_full_command_line(tmp_path: Path):
    assert parse_run_submit(["run", "submit", "a.py", "--env", "e.yml"]) == SubmitArgs(
        "a.py", "e.yml"
    )
    assert parse_run_submit(
        ["run", "submit", "--env=e.yml", "a.py", "x", "-c", "docker", "--json", "-s", "src",
         "--", "--epochs", "3"]
    ) == SubmitArgs("a.py", "e.yml", "docker", "src", ("x", "--epochs", "3"), True)  # fmt: skip
    for args in (
        ["run", "submit", "a.py"],  # no --env: the command says it is missing
        ["run", "submit", "--env", "e.yml"],  # no script
        ["run", "submit", "a.py", "--env", "e.yml", "--help"],
        ["run", "submit", "a.py", "--env", "e.yml", "--env", "f.yml"],
        ["run", "submit", "a.py", "-ee.yml"],
        ["run", "submit", "a.py", "--env"],
        ["run", "rerun", "abc"],
    ):
        assert parse_run_submit(args) is None, args
    helped = subprocess.run([MLENV, "run", "submit", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--compute" in helped.stdout
