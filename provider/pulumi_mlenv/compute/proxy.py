"""The endpoint's reverse proxy: a real HAProxy (Debian's ``haproxy``
package, installed by ``scripts/setup-proxy.sh``), one per endpoint.

It runs in master-worker mode (``-W``): a weight change rewrites the
configuration and sends the master ``SIGUSR2``; the master re-executes,
starts new workers on the same listening sockets and lets the old ones
finish the requests they hold. No deployment restarts, no connection is
refused. Each configuration answers ``GET /.mlenv/config`` with its own id,
which is how a reload is known to have taken effect.

A reload returns only once the old workers are gone (drained): a client
kept alive on an old worker is answered there, by the old servers, with
``Connection: close`` on its next request (``idle-close-on-response``) and
reconnects to a new worker. Only then may a deployment the old
configuration routed to stop: stopping it earlier is how kept-alive clients
met ``503 No server is available``. ``hard-stop-after`` bounds a drain.

``render`` is pure (tested by text); ``HAProxy`` drives the process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from pulumi_mlenv import procfs
from pulumi_mlenv.errors import EngineError

__all__ = ["CONFIG_PATH", "MAX_WEIGHT", "Backend", "HAProxy", "find_haproxy", "render"]

#: Path the proxy itself answers with its configuration id.
CONFIG_PATH = "/.mlenv/config"
#: HAProxy's largest server weight.
MAX_WEIGHT = 256
_WAIT = 15.0
#: Longest an old worker drains after a reload (``hard-stop-after``); idle
#: kept-alive connections end sooner (``timeout http-keep-alive``).
DRAIN_SECONDS = 30
KEEP_ALIVE_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Backend:
    """One deployment behind the endpoint: ``address`` is ``host:port``;
    ``weight`` 0..256 (0: no traffic)."""

    name: str
    address: str
    weight: int


def _server_name(name: str, index: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return f"{index}-{safe}"[:60]


def render(port: int, backends: tuple[Backend, ...], *, host: str = "127.0.0.1") -> str:
    """The HAProxy configuration of an endpoint on ``host:port``.

    Requests are buffered and retried on another server when a connection
    fails or a server closes without answering (``retry-on``, ``redispatch``):
    a deployment that stops while a replacement takes over costs no request.
    Health checks (``GET /``, the server's liveness) take a failed server out.
    """
    body = [
        "global",
        "    maxconn 4096",
        f"    hard-stop-after {DRAIN_SECONDS}s",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout http-request 30s",
        f"    timeout http-keep-alive {KEEP_ALIVE_SECONDS}s",
        "    option idle-close-on-response",
        "    option http-buffer-request",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response response-timeout 502 503",
        "",
        "frontend scoring",
        f"    bind {host}:{port}",
        "    default_backend deployments",
        "",
        "backend deployments",
        "    balance roundrobin",
        "    option httpchk GET /",
        "    default-server inter 1s fall 2 rise 1",
    ]
    for i, b in enumerate(backends):
        body.append(f"    server {_server_name(b.name, i)} {b.address} weight {b.weight} check")
    text = "\n".join(body) + "\n"
    config_id = hashlib.sha256(text.encode()).hexdigest()[:16]
    marker = (
        f'    http-request return status 200 content-type text/plain string "{config_id}"'
        f" if {{ path {CONFIG_PATH} }}"
    )
    return text.replace(
        "    default_backend deployments", marker + "\n    default_backend deployments"
    )


def config_id(text: str) -> str:
    """The id a rendered configuration answers at ``CONFIG_PATH``."""
    marker = 'string "'
    start = text.index(marker) + len(marker)
    return text[start : text.index('"', start)]


def find_haproxy() -> str:
    """The ``haproxy`` binary; ``EngineError`` with the fix when it is missing."""
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None
    )
    if not found:
        raise EngineError(
            "haproxy is not installed: run scripts/setup-proxy.sh (or apt-get install haproxy)"
        )
    return found


@dataclass(frozen=True, slots=True)
class HAProxy:
    """The proxy of one endpoint, living in folder ``home`` (configuration,
    pid file). Holds no process handle: any process can reload or stop it."""

    home: Path
    port: int

    @property
    def config_file(self) -> Path:
        return self.home / "haproxy.cfg"

    @property
    def pid_file(self) -> Path:
        return self.home / "haproxy.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def master_pid(self) -> int | None:
        """The master's pid when it is alive, else None."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        # A stopped daemon not yet reaped by init is a zombie: not alive.
        return pid if procfs.alive(pid) else None

    def serving(self) -> str | None:
        """The configuration id the proxy answers with, or None when it does not answer."""
        try:
            resp = requests.get(self.url + CONFIG_PATH, timeout=1.0)
        except requests.RequestException:
            return None
        return resp.text.strip() if resp.status_code == 200 else None

    def _write(self, backends: tuple[Backend, ...]) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        text = render(self.port, backends)
        tmp = self.config_file.with_suffix(".new")
        tmp.write_text(text)
        check = subprocess.run(
            [find_haproxy(), "-c", "-q", "-f", str(tmp)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise EngineError(f"haproxy refused the configuration: {check.stderr.strip()[-500:]}")
        os.replace(tmp, self.config_file)
        return config_id(text)

    def _wait_for(self, wanted: str, what: str) -> None:
        deadline = time.monotonic() + _WAIT
        while self.serving() != wanted:
            if time.monotonic() > deadline:
                raise EngineError(
                    f"haproxy on port {self.port} did not {what} within {_WAIT:.0f} s"
                )
            time.sleep(0.05)

    def start(self, backends: tuple[Backend, ...]) -> None:
        """Write the configuration and start the proxy (detached: it outlives
        the caller), then wait until it answers."""
        wanted = self._write(backends)
        proc = subprocess.run(
            [
                find_haproxy(),
                "-W",
                "-D",
                "-q",
                "-f",
                str(self.config_file),
                "-p",
                str(self.pid_file),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=True,
        )
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip()[-500:]
            raise EngineError(f"starting haproxy on port {self.port}: {said}")
        self._wait_for(wanted, "start")

    def workers(self) -> list[int]:
        """The master's live worker processes (old draining ones included)."""
        pid = self.master_pid()
        return [] if pid is None else [w for w in procfs.children(pid) if procfs.alive(w)]

    def reload(self, backends: tuple[Backend, ...]) -> None:
        """New weights or servers, gracefully: no request is dropped. Returns
        once the new configuration answers and the old workers have drained,
        so that a server only the old configuration knew may stop."""
        pid = self.master_pid()
        if pid is None:
            self.start(backends)
            return
        wanted = self._write(backends)
        old = set(self.workers())
        os.kill(pid, signal.SIGUSR2)
        self._wait_for(wanted, "reload")
        deadline = time.monotonic() + DRAIN_SECONDS + _WAIT
        while old & set(self.workers()):
            if time.monotonic() > deadline:
                raise EngineError(
                    f"haproxy on port {self.port}: its old workers did not drain within "
                    f"{DRAIN_SECONDS + _WAIT:.0f} s"
                )
            time.sleep(0.05)

    def stop(self) -> bool:
        """Stop the proxy (its workers with it); False when it was not running."""
        pid = self.master_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _WAIT
        while self.master_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.master_pid() is not None:
            os.kill(pid, signal.SIGKILL)
        return True
