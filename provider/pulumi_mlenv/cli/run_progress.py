"""What ``mlenv run submit|rerun`` shows while a run starts: one progress
line on stderr, and SIGTERM handled like Ctrl-C (the run is stopped and
recorded cancelled either way)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.status import Status

__all__ = ["Progress", "sigterm_as_interrupt"]


class Progress:
    """One line on stderr that shows the latest progress message: a live
    status on a terminal, plain lines otherwise. Stops before the script's
    output starts."""

    def __init__(self) -> None:
        self._status: Status | None = None
        self._build_steps: dict[int, str] = {}

    @staticmethod
    def _terminal() -> bool:
        return sys.stderr.isatty()

    def message(self, text: str) -> None:
        if not self._terminal():
            sys.stderr.write(f"… {text}\n")
            sys.stderr.flush()
            return
        if self._status is None:
            # rich only on a terminal, for the live line (it costs an import).
            from rich.console import Console

            console = Console(stderr=True, highlight=False, soft_wrap=True)
            self._status = console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def build(self, event: Any) -> None:
        """A BuildKit step event: the line says which step the build is at."""
        first = not self._build_steps
        self._build_steps[event.number] = event.status
        if not self._terminal():  # a log file: one line, not one per step
            if first:
                self.message("building image")
            return
        done = sum(1 for s in self._build_steps.values() if s in ("done", "cached"))
        self.message(f"building image: {done}/{len(self._build_steps)} steps, {event.name[:70]}")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C, so that the run is
    stopped and recorded cancelled either way."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
