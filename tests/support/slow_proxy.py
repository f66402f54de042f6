"""A TCP proxy on a free port in front of a test's own daemon, that can be
slowed down and stopped: a registry that goes away in the middle of a
pull, at a moment the test chooses (a pull over loopback at full speed is
over before anything can stop it)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["SlowProxy", "slow_proxy"]


class SlowProxy:
    """Forwards ``127.0.0.1:port`` to ``target``. Once ``slow(rate)`` is
    called, answers flow at ``rate`` bytes a second; ``when(n, action)``
    calls ``action`` once that many answer bytes have passed since; ``stop()``
    closes the listener and every connection, as a stopped server would."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._passed = 0
        self._trigger: tuple[int, Callable[[], None]] | None = None
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def slow(self, rate: float) -> None:
        with self._lock:
            self._rate, self._passed = rate, 0

    def when(self, passed: int, action: Callable[[], None]) -> None:
        with self._lock:
            self._trigger = (passed, action)

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            self._open.clear()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while not self._stopped.is_set():
                chunk = source.recv(16384 if not (answers and self._rate) else 4096)
                if not chunk:
                    break
                if answers:
                    self._count(len(chunk))
                if self._stopped.is_set():
                    break
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _count(self, size: int) -> None:
        fire: Callable[[], None] | None = None
        with self._lock:
            rate = self._rate
            self._passed += size
            if self._trigger is not None and self._passed >= self._trigger[0]:
                fire, self._trigger = self._trigger[1], None
        if rate:
            time.sleep(size / rate)
        if fire is not None:
            fire()


@contextmanager
def slow_proxy(target: tuple[str, int], port: int = 0) -> Iterator[SlowProxy]:
    """A proxy to ``target`` on ``port`` (0: a free one), stopped at the end."""
    proxy = SlowProxy(target, port)
    try:
        yield proxy
    finally:
        proxy.stop()
