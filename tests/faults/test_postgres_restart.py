"""The workspace's PostgreSQL server restarted while environments are
registered, on a private server of the test's own (a free port; the shared
one on 5433 is never touched), started by the same script `make postgres`
runs:

- five environments registered from five threads (as a provider does for a
  `pulumi up` of five environments) while the server restarts: each step
  waits for the server and runs once more; every registration succeeds and
  the numbers stay whole (1, 2, 3, ... for one name: none duplicated or
  skipped);
- a server that stays down: one line per step that names the workspace,
  never a driver traceback, and a rerun once it is back converges."""

from __future__ import annotations

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
