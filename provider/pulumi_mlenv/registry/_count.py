"""How many HTTP requests this process has made to registries, kept apart
from the ``requests``-based transport so that the standard library's quick
manifest check (``plain_head``) counts too without importing it."""

from __future__ import annotations

import threading

__all__ = ["count", "request_count", "reset_request_count"]

_COUNT_LOCK = threading.Lock()
_COUNT = 0


def request_count() -> int:
    """How many HTTP requests every registry client in this process has made."""
    return _COUNT


def reset_request_count() -> None:
    """Set the request counter back to zero (benchmarks call this between phases)."""
    global _COUNT
    with _COUNT_LOCK:
        _COUNT = 0


def count() -> None:
    global _COUNT
    with _COUNT_LOCK:
        _COUNT += 1
