"""`mlenv env build` and `mlenv image details` as a script sees them: piped
into another process on an 80-column terminal, stdout holds the whole
reference (or one JSON object) and nothing else; progress is on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # `| cat`: stdout is a pipe, as in $(mlenv env build ...) or a CI log.
    command = " ".join(["mlenv", *args]) + " | cat"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_piped_build_and_details_print_whole_results(
    machine: dict[str, str], tmp_path: Path
) -> None:
    definition = tmp_path / "requirements.txt"
    definition.write_text("six==1.16.0\n")
    env = {
        **os.environ,
        "COLUMNS": "80",
        "MLENV_REGISTRY": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
        "MLENV_WORKSPACE": f"sqlite:///{tmp_path / 'ws.db'}",
        "MLENV_CACHE_DIR": str(tmp_path / "cache"),
    }
    built = _run(["env", "build", str(definition)], env)
    assert built.returncode == 0, built.stderr
    lines = built.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) > 80  # one line, not wrapped
    image = lines[0]
    assert image.startswith(env["MLENV_REGISTRY"] + "/mlenv/env@sha256:")
    assert "built in" in built.stderr  # progress and summary on stderr

    again = _run(["env", "build", "--json", str(definition)], env)
    result = json.loads(again.stdout)
    assert result["image"] == image and result["built"] is False
    assert result["version"] == "1" and result["lock"] == ["six==1.16.0"]

    details = _run(["image", "details", "--json", result["definition_hash"]], env)
    assert json.loads(details.stdout)["image"] == image
    shown = _run(["image", "details", f"{result['name']}:1"], env)
    assert shown.returncode == 0, shown.stderr
    assert image in shown.stdout.splitlines()[0]  # the full reference, uncut
    assert "(built; the image's own date is fixed by the reproducible build)" in shown.stdout
    assert "1970" not in shown.stdout
