"""What a lost run left running on the host is found by the run id in its
processes' environment and stopped, its children too; nothing else is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pulumi_mlenv.compute import LocalTarget
from pulumi_mlenv.compute.job import RUN_ID_VARIABLE
from pulumi_mlenv.compute.process import stop_marked
from support.waiting import wait_for

#: A script that starts a child of its own, then both sleep.
FAMILY = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)


def _start(run_id: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FAMILY],
        env={**os.environ, RUN_ID_VARIABLE: run_id},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as the local target starts a script
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_the_lost_runs_processes_and_only_they_are_stopped() -> None:
    lost, other = _start("lost00000001"), _start("other0000001")
    try:
        wait_for(lambda: len(_group(lost.pid)) == 2, "the lost run's child")
        assert LocalTarget().remove_job("lost00000001") == 1
        assert lost.wait(timeout=30) != 0 and _group(lost.pid) == []
        assert other.poll() is None and len(_group(other.pid)) == 2
        assert stop_marked(RUN_ID_VARIABLE, "nobody000001") == 0
    finally:
        for proc in (lost, other):
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
            proc.wait()
