"""`pulumi up` interrupted while a Deployment is created: SIGKILL of the
`pulumi` CLI, and separately of the dynamic provider, once the deployment's
container runs (its scoring script's ``init()`` is slow, so the kill lands
while the server starts). Then, as docs/resources.md says, `pulumi cancel`
(the CLI case) and `pulumi up` again with a quick ``init()``.

What must hold: the user sees one line per failure (no traceback of ours);
after the rerun, one record and one container for the deployment (the
leftover removed, and said so); `pulumi destroy` leaves no container, no
record, no proxy process and no proxy folder; no language host lingers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import docker
import pytest

from pulumi_mlenv.service import leftovers
from support.processes import alive as _alive
from support.processes import cmdline as _cmdline
from support.processes import descendants as _descendants
from support.processes import pulumi as _run

pytestmark = [pytest.mark.engine, pytest.mark.docker]

PROGRAM = """
import pulumi
from pulumi_mlenv.resources import Deployment, Endpoint, Environment, Model, Workspace

workspace = Workspace("ws", path="ws.db")
env = Environment(
    "tiny",
    python={"conda": {"dependencies": ["python=3.11", {"pip": ["pyyaml==6.0.2"]}]}},
    workspace=workspace,
)
model = Model("k", path="model", environment=env, workspace=workspace)
blue = Deployment("blue", model=model, environment=env, entry_script="score.py",
                  timeout=300, workspace=workspace)
endpoint = Endpoint("scoring", deployments={blue: 100}, workspace=workspace)
pulumi.export("uri", endpoint.scoring_uri)
"""
SCORE = """import json
{slow}
def init():
    pass

def run(raw_data):
    return {{"ok": True}}
"""


def _containers(ws: str) -> list[str]:
    client = docker.from_env()
    try:
        labels = [f"{leftovers.NAME_LABEL}=blue"]
        labels.append(f"{leftovers.WORKSPACE_LABEL}={leftovers.workspace_tag(ws)}")
        # The low-level list: the high-level one inspects each container and
        # fails on one removed in between (the provider removes leftovers).
        found = client.api.containers(all=True, filters={"label": labels})
        return [str(c["Id"]) for c in found]
    finally:
        client.close()


def _rows(db: Path, table: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(db) as conn:
        if table == "mlenv_deployments":
            return list(conn.execute("SELECT name, status FROM mlenv_deployments"))
        return list(conn.execute("SELECT name, home FROM mlenv_endpoints"))


def cleanup(cwd: Path, env: dict[str, str]) -> None:
    """After a failed test: what the stack made goes (best effort), so that a
    failure leaves no container or proxy behind."""
    _run(cwd, env, "cancel", "--yes", "--stack", "test")
    _run(cwd, env, "destroy", "--yes", "--stack", "test")
    client = docker.from_env()
    try:
        tag = leftovers.workspace_tag(f"sqlite:///{cwd / 'ws.db'}")
        for c in client.containers.list(
            all=True, filters={"label": f"{leftovers.WORKSPACE_LABEL}={tag}"}
        ):
            c.remove(force=True)
    finally:
        client.close()
    for pid_file in (cwd / "cache" / "endpoints").glob("*/haproxy.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)


@pytest.mark.parametrize("victim", ["pulumi CLI", "provider"])
def test_a_killed_deployment_create_converges_and_destroy_leaves_nothing(
    machine: dict[str, str], proxy: str, tmp_path: Path, victim: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: killed-deploy\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "k.txt").write_text("1\n")
    nonce = uuid.uuid4().hex[:8]
    (tmp_path / "score.py").write_text(SCORE.format(slow=f"import time; time.sleep(90)  # {nonce}"))
    (tmp_path / "backend").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        "MLENV_REGISTRY": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
        "MLENV_CACHE_DIR": str(tmp_path / "cache"),
    }
    ws = f"sqlite:///{tmp_path / 'ws.db'}"
    assert _run(tmp_path, env, "stack", "init", "test").returncode == 0
    try:
        _scenario(tmp_path, env, ws, victim)
    except BaseException:
        cleanup(tmp_path, env)
        raise


def _scenario(tmp_path: Path, env: dict[str, str], ws: str, victim: str) -> None:
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", "test"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while not _containers(ws):  # the container runs: its server is starting
        assert up.poll() is None, f"up ended before the container started:\n{up.stdout.read()}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.5)
    tree = _descendants(up.pid)
    providers = [p for p in tree if "pulumi.dynamic" in _cmdline(p)]
    hosts = [p for p in tree if "language-python" in _cmdline(p) or "__main__" in _cmdline(p)]
    assert providers, [(_cmdline(p)) for p in tree]
    os.kill(up.pid if victim == "pulumi CLI" else providers[0], signal.SIGKILL)
    said = up.communicate(timeout=300)[0]
    for _ in range(60):  # the lifeline polls every second
        if not any(_alive(p) for p in providers + hosts):
            break
        time.sleep(0.5)
    lingering = [_cmdline(p) for p in providers + hosts if _alive(p)]
    assert not lingering, f"a provider or language host lingers: {lingering}"
    if victim == "provider":
        assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    assert [s for _, s in _rows(tmp_path / "ws.db", "mlenv_deployments")] == ["starting"]
    assert len(_containers(ws)) == 1

    # Resume as documented, with a quick init(): one record, one container.
    if victim == "pulumi CLI":  # as docs/resources.md says
        for step in (["cancel", "--yes"], ["refresh", "--yes", "--clear-pending-creates"]):
            done = _run(tmp_path, env, *step, "--stack", "test")
            assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "score.py").write_text(SCORE.format(slow=""))
    again = _run(tmp_path, env, "up", "--yes", "--skip-preview", "--stack", "test")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "interrupted create" in again.stdout  # the leftover removal is said
    assert _rows(tmp_path / "ws.db", "mlenv_deployments") == [("blue", "healthy")]
    assert len(_containers(ws)) == 1
    outputs = json.loads(_run(tmp_path, env, "stack", "output", "--json", "--stack", "test").stdout)
    assert outputs["uri"].startswith("http://127.0.0.1:")
    [(_, home)] = _rows(tmp_path / "ws.db", "mlenv_endpoints")

    gone = _run(tmp_path, env, "destroy", "--yes", "--stack", "test")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert _containers(ws) == []
    assert _rows(tmp_path / "ws.db", "mlenv_deployments") == []
    assert _rows(tmp_path / "ws.db", "mlenv_endpoints") == []
    assert not Path(home).exists()  # the proxy's folder (and so its process) is gone
