"""The disk of the runs folder fills up during a run (a 1 MiB tmpfs mounted
for the test, root only): the run fails with one line that names the
folder, its record says failed and why, and a rerun on a folder with room
converges."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.runs import Cli, definition

pytestmark = pytest.mark.docker

LOUD = "import sys\nfor i in range(40_000):\n    print('x' * 60, i)\n"


@pytest.fixture
def full_runs(tmp_path: Path) -> Iterator[Path]:
    assert os.getuid() == 0, "mounting a small tmpfs needs root"
    folder = tmp_path / "runs"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_runs_folder_fails_the_run_in_one_line_and_records_why(
    machine: dict[str, str], tmp_path: Path, full_runs: Path
) -> None:
    cli = Cli(tmp_path)
    env_file = definition(tmp_path / "env", "full-env", ["six==1.16.0"])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "loud.py").write_text(LOUD)
    done = cli("run", "submit", str(tmp_path / "src" / "loud.py"), "--env", str(env_file),
               "--compute", "local")  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert f"the runs folder {full_runs} is full" in last, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    [run] = cli.runs()
    assert run["status"] == "failed" and "is full" in (run.get("error") or ""), run
    # With room (another folder), the same run converges.
    roomy = Cli(tmp_path, MLENV_RUNS_DIR=str(tmp_path / "roomy"))
    again = roomy("run", "submit", str(tmp_path / "src" / "loud.py"), "--env", str(env_file),
                  "--compute", "local")  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
