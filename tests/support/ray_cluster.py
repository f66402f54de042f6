"""The local two-node Ray cluster of ``make ray`` (``scripts/setup-ray.sh``),
for the tests that run on it: started once per session when missing, and
stopped at the end by the session that started it (it holds ~1.9 GB)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RAY_URL = f"http://127.0.0.1:{os.environ.get('MLENV_RAY_PORT', '8265')}"


@pytest.fixture(scope="session")
def ray_cluster(machine: dict[str, str]) -> Iterator[str]:
    """The Jobs API URL of the local cluster, with both nodes alive."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-ray.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    started = "starting a head" in done.stdout
    yield RAY_URL
    if started:
        subprocess.run([str(ROOT / "scripts" / "ray-stop.sh")], capture_output=True, check=False)


def ray_job(submission_id: str) -> dict[str, Any]:
    """What the cluster's Jobs API says of a job."""
    import requests

    response = requests.get(f"{RAY_URL}/api/jobs/{submission_id}", timeout=30)
    response.raise_for_status()
    return dict(response.json())


def lose_worker_node() -> None:
    """Kill the worker node's raylet inside the cluster's namespace (by the
    PIDs setup-ray.sh recorded), as a machine failure would."""
    run = Path(os.environ["MLENV_CACHE_DIR"]) / "ray" / "run"
    namespace = (run / "namespace.pid").read_text().strip()
    worker = (run / "worker.pid").read_text().strip()
    enter = ["nsenter", "--target", namespace, "--pid", "--mount", "--"]
    children = subprocess.run(
        [*enter, "ps", "-o", "pid=,comm=", "--ppid", worker],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    [raylet] = [line.split()[0] for line in children if line.split()[1:] == ["raylet"]]
    subprocess.run([*enter, "kill", "-KILL", raylet], check=True)
