"""Keep-alive clients for rollout tests: each thread holds one HTTP
connection (a ``requests.Session``) and posts in a loop until stopped, so a
proxy reload finds connections open on its old workers, as real clients
leave them. Bounded: a fixed number of clients, stopped by the test."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

__all__ = ["KeepAliveClients", "Tally"]


@dataclass
class Tally:
    """What the clients saw: answers by body, failures by reason, latencies."""

    answers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.answers.values()) + sum(self.failures.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


class KeepAliveClients:
    """``count`` threads posting ``body`` to ``url`` over kept-alive connections."""

    def __init__(self, url: str, count: int, body: bytes = b"{}") -> None:
        self.url, self.body = url, body
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def _loop(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    resp = session.post(
                        self.url,
                        data=self.body,
                        headers={"Content-Type": "application/json"},
                        timeout=30,
                    )
                    outcome, ok = (
                        (resp.text, True)
                        if resp.status_code == 200
                        else (
                            f"{resp.status_code} {resp.text.strip()[:80]}",
                            False,
                        )
                    )
                except requests.RequestException as exc:
                    outcome, ok = type(exc).__name__ + f": {str(exc)[:120]}", False
                elapsed = time.perf_counter() - started
                with self._lock:
                    if ok:
                        self.tally.answers[outcome] += 1
                        self.tally.latencies.append(elapsed)
                    else:
                        self.tally.failures[outcome] += 1

    def __enter__(self) -> KeepAliveClients:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def snapshot(self) -> Tally:
        """A copy of the tally so far (the clients keep going)."""
        with self._lock:
            t = self.tally
            return Tally(Counter(t.answers), Counter(t.failures), list(t.latencies))
