"""What a provider is doing, for the program of the same ``pulumi up`` to
say if the provider dies.

When the dynamic provider process dies mid-operation (SIGKILL, the OOM
killer), the engine says only ``error: error reading from server: EOF`` and
cancels the program with SIGINT. So, for each create or update that builds
or starts something, the provider writes a small file naming the resource,
the step and the engine it serves (``config.inflight_dir``), and removes it
when the operation ends, however it ends. The program, on that SIGINT, reads
the files of its own engine whose provider is gone and says in one line what
the provider was doing, and that nothing of it was recorded. The language
host does not always let the program say it (it may stop the program
first), so the next provider that does something to the same resource says
it too, as a warning of that resource, and removes the notes of every dead
provider.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pulumi_mlenv import procfs
from pulumi_mlenv.config import inflight_dir

__all__ = ["died_during", "in_flight"]


def _notes() -> Iterator[tuple[Path, dict[str, object]]]:
    folder = inflight_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        with contextlib.suppress(OSError, ValueError):
            yield path, json.loads(path.read_text())


def _sweep(kind: str, name: str) -> list[str]:
    """Remove the notes of providers that died (any engine's); one line for
    each that was doing something to resource ``kind`` ``name``."""
    said: list[str] = []
    for path, note in _notes():
        if not procfs.alive(int(str(note.get("pid", 0)))):
            path.unlink(missing_ok=True)
            if (note.get("kind"), note.get("name")) == (kind, name):
                said.append(
                    f"an earlier update's mlenv provider process (pid {note.get('pid')}) died"
                    f" while {note.get('step')} it; nothing of that was recorded, and this"
                    " update does it again"
                )
    return said


@contextmanager
def in_flight(kind: str, name: str, step: str) -> Iterator[list[str]]:
    """Note, for the ``with`` block, that this provider is doing ``step``
    (``building``) for resource ``kind`` ``name``. Yields what notes of dead
    providers said of the same resource (the program that should have said
    it may have been stopped first), for the caller to say."""
    pid = os.getpid()
    # The engine is our parent's parent (the plugin's shell script between).
    engines = [p for p in (os.getppid(), procfs.parent(os.getppid())) if p and p > 1]
    path = inflight_dir() / f"{pid}.json"
    earlier: list[str] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        earlier = _sweep(kind, name)
        note = {"pid": pid, "engines": engines, "kind": kind, "name": name, "step": step}
        path.write_text(json.dumps(note))
    except OSError:
        pass  # only a better message is lost
    try:
        yield earlier
    finally:
        path.unlink(missing_ok=True)


def died_during(engine: int | None, wait: float = 2.0) -> list[str]:
    """One line per provider of ``engine`` that died mid-operation (its note
    left behind). The notes stay for the next provider to say again (the
    program's words may be lost) and remove. A provider of ``engine`` that is
    still noted as running is waited for up to ``wait`` seconds: the engine
    cancels the program as soon as the provider's connection breaks, which
    may be before the kernel has finished ending the process."""
    deadline = time.monotonic() + wait
    while True:
        lines = _dead(engine)
        mine = [n for _, n in _notes() if engine in (n.get("engines") or [])]  # type: ignore[operator]
        if lines or not mine or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def _dead(engine: int | None) -> list[str]:
    lines: list[str] = []
    for _, note in _notes():
        engines = note.get("engines")
        pid = int(str(note.get("pid", 0)))
        if isinstance(engines, list) and engine in engines and not procfs.alive(pid):
            lines.append(
                f"mlenv: the mlenv provider process (pid {pid}) died while {note.get('step')}"
                f" {note.get('kind')} '{note.get('name')}'; the workspace holds nothing of"
                " it: run `pulumi up` again (it reuses an image the build finished)"
            )
    return lines
