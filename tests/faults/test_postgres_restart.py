"""The workspace's PostgreSQL server restarted while environments are
registered, on a private server of the test's own (a free port; the shared
one on 5433 is never touched), started by the same script `make postgres`
runs:

- five environments registered from five threads (as a provider does for a
  `pulumi up` of five environments) while the server restarts: each step
  waits for the server and runs once more; every registration succeeds and
  the numbers stay whole (1, 2, 3, ... for one name: none duplicated or
  skipped);
- a real `pulumi up` of five environments of one name while the server
  restarts: no traceback (the build lease's own connection waits for the
  server too), and the up, or its rerun, records versions 1 to 5;
- a server that stays down: one line per step that names the workspace,
  never a driver traceback, and a rerun once it is back converges."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace import Workspace, reconnect
from support.waiting import wait_for

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A private PostgreSQL: its URL and how to stop, start and restart it."""

    def __init__(self, url: str) -> None:
        self.url = url
        engine = create_engine(url)
        with engine.connect() as conn:
            self.data = str(conn.execute(text("SHOW data_directory")).scalar())
        engine.dispose()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]

    def _ctl(self, *args: str) -> None:
        folder = Path(self.data).parent
        command = [str(self.bin / "pg_ctl"), "-D", self.data, "-l", str(folder / "server.log")]
        runner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*runner, *command, "-w", "-t", "60", *args], check=True,
                       capture_output=True)  # fmt: skip

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def start(self) -> None:
        port = make_url(self.url).port
        folder = Path(self.data).parent
        self._ctl("-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = _free_port()
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-postgres.sh")],
        env={**os.environ, "MLENV_PG_PORT": str(port), "MLENV_PG_DATABASE": "faults"},
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    s = Server(done.stdout.strip().splitlines()[-1])
    yield s
    s.stop()
    shutil.rmtree(Path(s.data).parent, ignore_errors=True)  # the cluster is the test's own


def _register(url: str, name: str, env_hash: str) -> str:
    with Workspace(url) as ws:
        return ws.register_version(
            name,
            env_hash=env_hash,
            version=None,
            image=f"127.0.0.1:5000/x@sha256:{env_hash[-64:]}",
            definition={"name": name},
        ).version


def test_five_registrations_across_a_restart_all_succeed_with_whole_numbers(
    server: Server,
) -> None:
    url = server.url
    hashes = [f"sha256:{i:064x}" for i in range(1, 11)]
    _register(url, "warm", hashes[0])  # the process's pool holds connections now
    results: dict[int, str | Exception] = {}

    def work(i: int) -> None:
        try:
            # Two steps each, with the restart between them for most threads.
            results[i] = _register(url, f"env{i}", hashes[i])
            time.sleep(0.5)
            results[i] = _register(url, "shared", hashes[5 + i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    server.stop()  # pooled connections die; steps under way fail and wait
    time.sleep(2)
    server.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, str) for r in results.values()), results
    with Workspace(url) as ws:
        shared = sorted(int(v.version) for v in ws.list_versions("shared"))
        assert shared == [1, 2, 3, 4, 5]  # none duplicated, none skipped
        for i in range(5):
            assert [v.version for v in ws.list_versions(f"env{i}")] == ["1"]


def test_a_server_that_stays_down_fails_in_one_line_and_a_rerun_converges(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.url
    monkeypatch.setattr(reconnect, "WAIT_SECONDS", 2.0)
    _register(url, "down", f"sha256:{'d' * 64}")
    server.stop()
    try:
        with pytest.raises(MlenvError) as err, Workspace(url) as ws:
            ws.get_version("down")
    finally:
        server.start()
    message = str(err.value)
    assert "the database server stopped answering" in message and "\n" not in message
    assert "postgresql" in message and "rerun" in message
    assert _register(url, "down", f"sha256:{'d' * 64}") == "1"  # the same version, again


UP_PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", url=cfg.require("workspaceUrl"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
for i, step in enumerate(json.loads(cfg.require("steps"))):
    env = Environment(
        f"env{i}",
        name=cfg.require("name"),
        python={"user_managed": True, "interpreter_path": "/usr/bin/python3"},
        docker={"steps": [step]},
        workspace=workspace,
        registry=registry,
    )
    pulumi.export(f"env{i}", env.version)
"""


def _leases(url: str) -> int:
    """Build leases held now: on PostgreSQL a build holds an advisory lock."""
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            return int(db.execute(text(held)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.engine
def test_a_restart_during_a_real_pulumi_up_of_five_environments_converges_with_whole_numbers(
    server: Server, machine: dict[str, str], tmp_path: Path
) -> None:
    from pulumi import automation as auto

    (tmp_path / "Pulumi.yaml").write_text("name: pg-restart\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(UP_PROGRAM)
    (tmp_path / "backend").mkdir()
    nonce = os.urandom(6).hex()
    stack = auto.create_or_select_stack(
        stack_name="test",
        work_dir=str(tmp_path),
        opts=auto.LocalWorkspaceOptions(
            env_vars={"PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}"}
        ),
    )
    # Five definitions of one name, each building for a few seconds: the
    # registrations come while the server is down or just back.
    steps = [f"RUN sleep {2 + i} && echo {nonce}-{i} > /marker" for i in range(5)]
    config = {
        "workspaceUrl": server.url,
        # A name of its own: the module's server also holds the other tests' "shared".
        "name": f"up-{nonce}",
        "registry": f"{machine['MLENV_REGISTRY']}/pg-{nonce}",
        "steps": json.dumps(steps),
    }
    for key, value in config.items():
        stack.set_config(key, auto.ConfigValue(value))
    printed: list[str] = []
    outcome: dict[str, object] = {}

    def up() -> None:
        try:
            outcome["up"] = stack.up(on_output=printed.append)
        except auto.CommandError as err:
            outcome["error"] = err

    runner = threading.Thread(target=up)
    runner.start()
    # The restart comes once builds are under way (a build holds a lease).
    wait_for(lambda: _leases(server.url) > 0, "a build lease in the workspace", deadline=300)
    assert runner.is_alive()  # the restart comes while the up runs
    server.stop()
    time.sleep(3)
    server.start()
    runner.join()
    text_out = "\n".join(printed) + str(outcome.get("error", ""))
    assert "Traceback" not in text_out and "AdminShutdown" not in text_out
    if "error" in outcome:  # a step that could not wait it out: one line each, then a rerun
        stack.up(on_output=printed.append)
    versions = sorted(int(stack.outputs()[f"env{i}"].value) for i in range(5))
    assert versions == [1, 2, 3, 4, 5]  # none duplicated, none skipped
    with Workspace(server.url) as ws:
        assert sorted(int(v.version) for v in ws.list_versions(f"up-{nonce}")) == [1, 2, 3, 4, 5]
    stack.destroy()
