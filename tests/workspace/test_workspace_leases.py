"""Build leases: one holder at a time across processes, kept alive by its
heartbeat past the expiry, and freed when its holder dies (SQLite: after the
expiry; PostgreSQL: when the server sees the connection end)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from pulumi_mlenv.workspace import Workspace
from pulumi_mlenv.workspace.urls import normalise_url

# Each child takes the lease, writes "start", holds it for longer than the
# expiry (only the heartbeat keeps it), writes "end", lets go.
HOLD = """
import os, sys, time
from pulumi_mlenv.workspace import Workspace
url, log, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
ws = Workspace(url)
with ws.build_lease("hash-1", ttl=1.0, poll=0.05):
    with open(log, "a") as f:
        f.write(f"start {os.getpid()}\\n")
    print("held", flush=True)
    time.sleep(seconds)
    with open(log, "a") as f:
        f.write(f"end {os.getpid()}\\n")
"""


def _child(url: str, log: Path, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, url, str(log), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_one_holder_at_a_time_even_past_the_expiry(workspace_url: str, tmp_path: Path) -> None:
    Workspace(workspace_url).close()
    log = tmp_path / "log"
    children = [_child(workspace_url, log, 1.6) for _ in range(4)]
    for child in children:
        _, err = child.communicate()
        assert child.returncode == 0, err
    lines = log.read_text().split()
    events = list(zip(lines[0::2], lines[1::2], strict=True))
    assert len(events) == 8
    # start A, end A, start B, end B...: never two holders at once.
    for i in range(0, 8, 2):
        assert events[i][0] == "start" and events[i + 1] == ("end", events[i][1])


def test_a_holder_killed_during_its_lease_frees_it(workspace_url: str, tmp_path: Path) -> None:
    Workspace(workspace_url).close()
    holder = _child(workspace_url, tmp_path / "log", 3600)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    expires = None
    if workspace_url.startswith("sqlite"):
        engine = create_engine(normalise_url(workspace_url))
        with engine.connect() as conn:
            expires = conn.execute(
                text("SELECT expires_at FROM mlenv_leases WHERE key = 'hash-1'")
            ).scalar()
        engine.dispose()
        assert expires is not None
    os.kill(holder.pid, signal.SIGKILL)  # no cleanup, no release
    holder.wait()
    with Workspace(workspace_url) as ws, ws.build_lease("hash-1", ttl=1.0, poll=0.05):
        got_it = time.time()
    if expires is not None:
        # SQLite: nothing releases a dead holder's row; its expiry does.
        assert got_it >= expires
