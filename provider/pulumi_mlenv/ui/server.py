"""Serving the pages: a socket bound on 127.0.0.1 only (port 0: one the OS
gives), then uvicorn on it until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import uvicorn

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service import browse
from pulumi_mlenv.ui.app import create_app

__all__ = ["HOST", "Served", "bind", "serve"]

#: The only address the pages are served on: this machine, nobody else.
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Served:
    """Where the pages are: ``url`` (``http://127.0.0.1:PORT/``) and ``port``."""

    url: str
    port: int


def bind(port: int) -> socket.socket:
    """A listening socket on ``127.0.0.1:port``; ``MlenvError`` naming the
    port when it is taken or not a port."""
    if not 0 <= port <= 65535:
        raise MlenvError(f"--port: {port} is not a port number (use 1..65535, or 0 for a free one)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise MlenvError(
            f"--port: cannot listen on {HOST}:{port} ({exc.strerror}): "
            "give another port, or 0 for a free one"
        ) from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn, stopped by Ctrl-C or SIGTERM as the end of its work: it
    finishes the requests in flight and returns (exit code 0), instead of
    raising the signal again once stopped."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:  # a second Ctrl-C: do not wait for slow requests
            self.force_exit = True
        self.should_exit = True


def serve(workspace_url: str, port: int = 0, *, ready: Callable[[Served], None]) -> None:
    """Serve the pages over ``workspace_url`` until interrupted; ``ready`` is
    called with the address once the socket listens."""
    browse.check_exists(workspace_url)
    app = create_app(workspace_url)
    sock = bind(port)
    chosen = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _Server(config)
    ready(Served(f"http://{HOST}:{chosen}/", chosen))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
