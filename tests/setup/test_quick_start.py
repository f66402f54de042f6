"""The README's quick start, typed in a clean shell: ``env -i`` with only
HOME and PATH, nothing sourced. ``mlenv`` is the link ``make setup`` puts in
``~/.local/bin``, it finds the tools and daemons setup recorded, and it
shares its workspace with the ``make`` recipes (a target registered the way
``make spark`` registers ``spark-local`` is in ``mlenv compute list``).

HOME is a folder of the test's own, so the default workspace is too; the
tools stay those the machine's setup built (MLENV_CACHE_DIR, given to the
setup step only, as the machine's setup.json would carry it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

pytestmark = pytest.mark.docker


def _quick_start() -> list[str]:
    """The commands of the README's quick start block, as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README has a quick start block"
    return block.group(1).splitlines()


def _clean(home: Path, command: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    path = f"{home / '.local' / 'bin'}:{SYSTEM_PATH}"
    env = ["env", "-i", f"HOME={home}", f"PATH={path}", *(f"{k}={v}" for k, v in extra.items())]
    return subprocess.run(
        [*env, "bash", "-euo", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_readme_quick_start_runs_in_a_clean_shell_on_the_make_recipes_workspace(
    machine: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cache = os.environ["MLENV_CACHE_DIR"]
    # `make setup`'s last step, for this HOME (the rest of setup is the machine's).
    setup = _clean(home, f"{ROOT}/scripts/setup-cli.sh", ROOT, MLENV_CACHE_DIR=cache)
    assert setup.returncode == 0, setup.stderr
    link = home / ".local" / "bin" / "mlenv"
    assert link.is_symlink() and link.resolve() == (ROOT / ".venv" / "bin" / "mlenv").resolve()
    recorded = json.loads((home / ".local/state/pulumi-mlenv/setup.json").read_text())
    assert recorded["MLENV_BUILDCTL"] == f"{cache}/buildkit/v0.34.2/buildctl"
    again = _clean(home, f"{ROOT}/scripts/setup-cli.sh", ROOT, MLENV_CACHE_DIR=cache)
    assert f"cli: {link} -> " in again.stdout  # idempotent: the same link, said once
    # A make recipe registers a target as `make spark` does (env.sh sourced there).
    recipe = _clean(
        home,
        f"source {ROOT}/scripts/env.sh && mlenv compute add from-make --kind docker",
        ROOT,
        MLENV_CACHE_DIR=cache,
    )
    assert recipe.returncode == 0, recipe.stderr

    lines = [line for line in _quick_start() if not line.startswith("make ")]
    work = tmp_path / "user"
    work.mkdir()
    done = _clean(home, "\n".join(lines), work)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "six 1.16.0" in done.stdout  # the script's output, streamed
    assert "buildctl not found" not in done.stderr
    listed = _clean(home, "mlenv compute list --json", work)
    assert [t["name"] for t in json.loads(listed.stdout)] == ["docker", "from-make", "local"]
    [run] = json.loads(_clean(home, "mlenv run list --json", work).stdout)
    assert (run["status"], run["compute"]) == ("completed", "docker")
    assert (Path(run["outputs"]) / "model.txt").read_text() == "trained\n"
    workspace = home / ".local" / "state" / "pulumi-mlenv" / "workspace.db"
    assert workspace.is_file()  # the one default, shared by the recipe and the shell
