"""Questions about processes, answered from Linux ``/proc``: the provider's
lifeline and in-flight notes, the endpoint proxy's workers and a run's owner
all ask them. A process that is not there answers "gone" (empty, None,
False). A leaf module, like ``errors``: it imports nothing of ours."""

from __future__ import annotations

from pathlib import Path

__all__ = ["alive", "children", "descendants", "parent", "start_ticks"]


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (which may
    hold spaces and parentheses, so it is cut at the last ``)``)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return text.rsplit(")", 1)[-1].split()


def children(pid: int) -> list[int]:
    """The direct children of ``pid``, from every one of its threads."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``, deepest first (so a caller stopping them
    stops children before their parents)."""
    found = children(pid)
    deep: list[int] = []
    for child in found:
        deep += descendants(child)
    return deep + found


def parent(pid: int) -> int | None:
    """The parent of ``pid``, or None when it is gone."""
    try:
        stat = _stat_fields(pid)
    except OSError:
        return None
    return int(stat[1])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: a killed process is a zombie (``Z``) until its
    parent reaps it, and that counts as gone."""
    try:
        state = _stat_fields(pid)[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def start_ticks(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot), which tells a reused pid
    from the process that had it; None when it is gone (or there is no ``/proc``)."""
    try:
        stat = _stat_fields(pid)
    except OSError:
        return None
    return stat[19] if len(stat) > 19 else None
