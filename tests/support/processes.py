"""The processes a test started, read from ``/proc``: who descends from
whom, what each runs, whether it still lives (a zombie does not)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["alive", "cmdline", "descendants", "pulumi"]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents before their children."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(c) for c in task.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *descendants(kid)]
    return out


def cmdline(pid: int) -> str:
    """The command line of ``pid``, words joined by spaces ("" when gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting for its parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pulumi(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS`` in the project ``cwd``, output captured."""
    return subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True)
