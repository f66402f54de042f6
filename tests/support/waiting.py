"""What tests that start processes and daemons share: a free port the OS
gives, and waiting on a condition with a deadline (never a fixed sleep)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

__all__ = ["free_port", "wait_for"]


def free_port() -> int:
    """A loopback TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, deadline: float = 120.0) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after
    ``deadline`` seconds. Polls often at first, then every 0.2 s."""
    end = time.monotonic() + deadline
    pause = 0.005
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {deadline:.0f} s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
