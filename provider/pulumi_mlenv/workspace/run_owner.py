"""Who runs a run, and whether it still does: a run whose process died is
``lost``, never ``running`` for ever.

The owner is ``host pid start``: the host name, the process id and the
process's start time (clock ticks since boot, from ``/proc``), so a pid
reused by another process is not taken for the owner. On the owner's host
a run is lost as soon as its process is gone; elsewhere (a workspace on
PostgreSQL shared by several hosts), once its heartbeat, written every
``LOST_AFTER / 4`` seconds while it runs, is older than ``LOST_AFTER``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from pulumi_mlenv import procfs

__all__ = ["LOST_AFTER", "gone_reason", "lost_after", "this_owner"]

#: Seconds without a heartbeat after which a run on another host is lost.
LOST_AFTER = 60.0


def lost_after() -> float:
    """``MLENV_RUN_LOST_SECONDS``, else ``LOST_AFTER``."""
    try:
        return max(1.0, float(os.environ.get("MLENV_RUN_LOST_SECONDS", LOST_AFTER)))
    except ValueError:
        return LOST_AFTER


def this_owner() -> str:
    """``host pid start`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {procfs.start_ticks(pid) or '-'}"


def gone_reason(owner: str | None, heartbeat_at: str | None, now: datetime) -> str | None:
    """Why the run of ``owner`` is lost, or None while its process may still run."""
    host, pid, start = [*(owner or "").split(" "), "", "", ""][:3]
    if host == socket.gethostname() and pid.isdigit() and os.path.isdir("/proc/self"):
        ticks = procfs.start_ticks(int(pid))
        if ticks is None or (start != "-" and ticks != start):
            return f"the process that ran it (pid {pid} on {host}) ended without recording its end"
        return None
    if heartbeat_at is None:
        return None
    last = datetime.fromisoformat(heartbeat_at)
    if now - last > timedelta(seconds=lost_after()):
        return (
            f"no heartbeat from its process (pid {pid or '?'} on {host or '?'}) "
            f"since {heartbeat_at[:19]}"
        )
    return None
