"""Liveness of an HTTP service: wait until it answers, or say why it never will."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from pulumi_mlenv.errors import EngineError

__all__ = ["is_live", "post_json", "wait_until_live"]

_POLL = 0.2


def is_live(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET url`` answers 200."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def wait_until_live(url: str, *, timeout: float, still_running: Callable[[], bool]) -> str:
    """Poll ``url`` until it answers 200. Returns ``live``, ``exited`` (the
    process behind it stopped: ``still_running`` said False) or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if is_live(url, timeout=1.0):
            return "live"
        if not still_running():
            return "exited"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(_POLL)


def post_json(url: str, data: bytes, *, timeout: float) -> tuple[int, str]:
    """POST ``data`` as JSON to ``url``: ``(status, body)``; ``EngineError``
    when nothing answers."""
    try:
        resp = requests.post(
            url, data=data, headers={"Content-Type": "application/json"}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise EngineError(f"{url} did not answer: {exc}") from None
    return resp.status_code, resp.text
