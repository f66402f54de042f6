"""The endpoint's proxy is a real HAProxy: weights decide where requests go,
and a reload with new weights drops no request and keeps the master."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from pulumi_mlenv.compute.proxy import Backend, HAProxy
from pulumi_mlenv.compute.tcp_ports import allocate_port, port_in_use
from support.keepalive import KeepAliveClients

pytestmark = pytest.mark.docker  # needs what setup installs (haproxy)


def _server(name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def backends() -> Iterator[tuple[str, str]]:
    a, b = _server("a"), _server("b")
    yield f"127.0.0.1:{a.server_port}", f"127.0.0.1:{b.server_port}"
    a.shutdown()
    b.shutdown()


def _spread(url: str, n: int) -> Counter[str]:
    return Counter(requests.post(url, data=b"{}", timeout=10).text for _ in range(n))


def test_weights_route_traffic_and_a_reload_drops_nothing(
    proxy: str, backends: tuple[str, str], tmp_path: Path
) -> None:
    a, b = backends
    port = allocate_port()
    haproxy = HAProxy(tmp_path / "ep", port)
    haproxy.start((Backend("a", a, 100), Backend("b", b, 0)))
    try:
        url = f"http://127.0.0.1:{port}/score"
        assert _spread(url, 20) == Counter({"a": 20})
        master = haproxy.master_pid()

        failures: list[str] = []
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    if requests.post(url, data=b"{}", timeout=10).status_code != 200:
                        failures.append("status")
                except requests.RequestException as exc:
                    failures.append(str(exc))

        clients = [threading.Thread(target=loop) for _ in range(4)]
        for t in clients:
            t.start()
        for weights in ((50, 50), (0, 100), (100, 0), (0, 100)):
            haproxy.reload((Backend("a", a, weights[0]), Backend("b", b, weights[1])))
        stop.set()
        for t in clients:
            t.join()
        assert failures == []
        assert haproxy.master_pid() == master  # the same proxy, reloaded
        assert _spread(url, 20) == Counter({"b": 20})
    finally:
        assert haproxy.stop()
    assert not port_in_use(port)
    assert haproxy.master_pid() is None


def test_kept_alive_clients_see_no_error_when_a_server_is_replaced_and_stopped(
    proxy: str, tmp_path: Path
) -> None:
    """The replace as Pulumi orders it: the replacement starts, the endpoint
    reloads onto it, then the old server stops. 15 clients hold their
    connections open on the old worker across the reload; none may fail (the
    reload returns once the old workers drained)."""
    old, new = _server("old"), _server("new")
    port = allocate_port()
    haproxy = HAProxy(tmp_path / "ep", port)
    haproxy.start((Backend("blue", f"127.0.0.1:{old.server_port}", 100),))
    url = f"http://127.0.0.1:{port}/score"
    try:
        with KeepAliveClients(url, 15) as clients:
            while clients.snapshot().requests < 300:
                pass
            haproxy.reload((Backend("blue", f"127.0.0.1:{new.server_port}", 100),))
            assert len(haproxy.workers()) == 1  # the old worker is gone
            old.shutdown()
            old.server_close()  # connections to it are refused from now on
            seen = clients.snapshot().requests
            while clients.snapshot().requests < seen + 300:
                pass
        tally = clients.tally
        assert tally.failures == {}, tally.failures
        assert tally.answers["new"] >= 300 and tally.answers["old"] >= 300
    finally:
        haproxy.stop()
        new.shutdown()
