"""``python -m pulumi_mlenv`` (and ``-m pulumi_mlenv.cli.main``) is the
``mlenv`` command, for where the console script is not on PATH."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["pulumi_mlenv", "pulumi_mlenv.cli.main"])
def test_the_module_runs_the_command(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: mlenv " in done.stdout and "Traceback" not in done.stderr
