"""`pulumi up` interrupted while an Endpoint reloads (new weights): SIGKILL
of the `pulumi` CLI, and separately of the dynamic provider, while the
reload waits for the old proxy worker to drain (a client keeps an idle
connection open on it, so the drain lasts up to 10 s).

What must hold: the proxy keeps answering throughout (one master, no
second proxy); the rerun converges (the record and the proxy on the new
weights); `pulumi destroy` leaves no proxy process or folder, no record."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from faults.test_killed_deployment_up import SCORE, cleanup
from pulumi_mlenv.compute.proxy import CONFIG_PATH, HAProxy
from support.processes import alive as _alive
from support.processes import cmdline as _cmdline
from support.processes import descendants as _descendants
from support.processes import pulumi as _run

pytestmark = [pytest.mark.engine, pytest.mark.docker]

PROGRAM = """
import pulumi
from pulumi_mlenv.resources import Deployment, Endpoint, Environment, Model, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path="ws.db")
env = Environment(
    "tiny",
    python={"conda": {"dependencies": ["python=3.11", {"pip": ["pyyaml==6.0.2"]}]}},
    workspace=workspace,
)
model = Model("k", path="model", environment=env, workspace=workspace)
blue = Deployment("blue", model=model, environment=env, entry_script="score.py",
                  workspace=workspace)
green = Deployment("green", model=model, environment=env, entry_script="score.py",
                   workspace=workspace)
w = cfg.require_int("blue")
endpoint = Endpoint("scoring", deployments={blue: w, green: 100 - w}, workspace=workspace)
pulumi.export("uri", endpoint.scoring_uri)
"""


def _endpoint(db: Path) -> tuple[str, int, str]:
    with sqlite3.connect(db) as conn:
        home, port, backends = conn.execute(
            "SELECT home, port, backends FROM mlenv_endpoints"
        ).fetchone()
    return str(home), int(port), str(backends)


@pytest.mark.parametrize("victim", ["pulumi CLI", "provider"])
def test_a_killed_endpoint_reload_keeps_serving_and_converges(
    machine: dict[str, str], proxy: str, tmp_path: Path, victim: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: killed-reload\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "k.txt").write_text("1\n")
    (tmp_path / "score.py").write_text(SCORE.format(slow=f"# {uuid.uuid4().hex[:8]}"))
    (tmp_path / "backend").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        "MLENV_REGISTRY": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
        "MLENV_CACHE_DIR": str(tmp_path / "cache"),
    }
    db = tmp_path / "ws.db"
    assert _run(tmp_path, env, "stack", "init", "test").returncode == 0
    try:
        _scenario(tmp_path, env, db, victim)
    except BaseException:
        cleanup(tmp_path, env)
        raise


def _scenario(tmp_path: Path, env: dict[str, str], db: Path, victim: str) -> None:
    assert _run(tmp_path, env, "config", "set", "blue", "100", "--stack", "test").returncode == 0
    first = _run(tmp_path, env, "up", "--yes", "--skip-preview", "--stack", "test")
    assert first.returncode == 0, first.stdout + first.stderr
    home, port, _ = _endpoint(db)
    haproxy = HAProxy(Path(home), port)
    master, before = haproxy.master_pid(), haproxy.serving()
    # A client that keeps its connection on the current worker alive, asking
    # every 8 s (the proxy closes a connection idle for 10 s): the reload
    # waits for its next request, so the drain lasts a few seconds.
    stop = threading.Event()

    def pinger() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                session.get(f"http://127.0.0.1:{port}{CONFIG_PATH}", timeout=10)
                stop.wait(8)

    pinging = threading.Thread(target=pinger)
    pinging.start()

    assert _run(tmp_path, env, "config", "set", "blue", "0", "--stack", "test").returncode == 0
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", "test"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while haproxy.serving() == before:  # the new configuration is live, the old drains
        assert up.poll() is None, "up ended before the reload"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(haproxy.workers()) == 2  # still draining
    tree = _descendants(up.pid)
    providers = [p for p in tree if "pulumi.dynamic" in _cmdline(p)]
    assert providers
    os.kill(up.pid if victim == "pulumi CLI" else providers[0], signal.SIGKILL)
    up.wait()
    stop.set()
    pinging.join()
    for _ in range(60):
        if not any(_alive(p) for p in providers):
            break
        time.sleep(0.5)
    assert not any(_alive(p) for p in providers)
    assert haproxy.master_pid() == master  # the same proxy, still serving
    assert requests.post(f"http://127.0.0.1:{port}/score", json={}, timeout=30).status_code == 200

    if victim == "pulumi CLI":
        for step in (["cancel", "--yes"], ["refresh", "--yes", "--clear-pending-creates"]):
            done = _run(tmp_path, env, *step, "--stack", "test")
            assert done.returncode == 0, done.stdout + done.stderr
    again = _run(tmp_path, env, "up", "--yes", "--skip-preview", "--stack", "test")
    assert again.returncode == 0, again.stdout + again.stderr
    _, _, backends = _endpoint(db)
    weights = {row["name"]: row["weight"] for row in json.loads(backends)}
    assert weights == {"blue": 0, "green": 100}, backends  # the new weights, recorded
    assert haproxy.master_pid() == master and len(haproxy.workers()) == 1

    gone = _run(tmp_path, env, "destroy", "--yes", "--stack", "test")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert haproxy.master_pid() is None and not Path(home).exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM mlenv_endpoints").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM mlenv_deployments").fetchone() == (0,)
