"""The one progress line of an image pull, from the engine's pull events:
``2/5 layers, 12.3 MB of 40.1 MB``. Pure, so the words are tested without
an engine (an event names a layer before its size is known: counting only
sized layers said ``1 layers, 0.0/0.0 MB``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PullProgress"]


#: Pull statuses after which a layer needs nothing more.
_LAYER_DONE = ("Pull complete", "Already exists", "Download complete")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class PullProgress:
    """What the engine's pull events say so far: every layer it named
    (sizes are known only once a layer downloads), and which are done."""

    def __init__(self) -> None:
        self.layers: dict[str, tuple[int, int]] = {}
        self.done: set[str] = set()
        #: The engine's "Retrying in 5 seconds" while the registry does not
        #: answer (None once bytes flow again).
        self.retrying: str | None = None

    def add(self, event: Mapping[str, Any]) -> None:
        layer, status = event.get("id"), str(event.get("status") or "")
        if not layer or status.startswith(("Pulling from", "Digest:", "Status:")):
            return
        if status.startswith("Retrying in "):
            # The engine counts down a second at a time; one line per retry
            # says the wait it started with.
            seconds = status.removeprefix("Retrying in ").split(" ")[0]
            waited = (self.retrying or "0").split(" ")[0]
            if seconds.isdigit() and (self.retrying is None or int(seconds) > int(waited)):
                self.retrying = f"{seconds} s"
            return
        self.retrying = None
        current, total = self.layers.get(layer, (0, 0))
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            current, total = int(detail.get("current", 0)), int(detail["total"])
        if status in _LAYER_DONE:
            self.done.add(layer)
            current = total
        self.layers[layer] = (current, total)

    def line(self) -> str:
        """``2/5 layers, 12.3 MB of 40.1 MB`` (sizes once any is known)."""
        count = len(self.layers)
        text = f"{len(self.done)}/{count} layer{'s' * (count != 1)}"
        total = sum(t for _, t in self.layers.values())
        if total:
            text += f", {self.received()}"
        if self.retrying:
            text += f"; the registry stopped answering, the engine tries again in {self.retrying}"
        return text

    def received(self) -> str:
        """``12.3 MB of 40.1 MB`` ("" before any size is known)."""
        total = sum(t for _, t in self.layers.values())
        got = sum(c for c, _ in self.layers.values())
        return f"{_size(got)} of {_size(total)}" if total else ""
