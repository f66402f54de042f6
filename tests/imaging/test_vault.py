"""Files that hold secrets during a build live in memory (``/dev/shm``),
private to the user, gone when the build ends; those of a process killed
with ``kill -9`` are swept by the next build."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from pulumi_mlenv.imaging.vault import vault, vault_base

CHILD = """
import sys, time
from pulumi_mlenv.imaging.vault import vault
with vault("build") as folder:
    (folder / "requirements.secret").write_text("--index-url https://ci:t0ken@idx/simple")
    print(folder, flush=True)
    time.sleep(600)
"""


def test_a_vault_is_private_in_memory_and_gone_after_the_build() -> None:
    with vault("build") as folder:
        (folder / "index.secret").write_text("token")
        assert folder.parent == vault_base()
        assert stat.S_IMODE(vault_base().stat().st_mode) == 0o700
        if Path("/dev/shm").is_dir():
            assert str(folder).startswith("/dev/shm/")
    assert not folder.exists()


def test_the_vault_of_a_killed_build_is_swept_by_the_next_one() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    left = Path(child.stdout.readline().strip())
    assert (left / "requirements.secret").is_file()
    os.kill(child.pid, signal.SIGKILL)  # no `finally` runs
    child.wait()
    assert left.exists()  # what a kill -9 leaves behind...
    with vault("build"):
        pass
    assert not left.exists()  # ... the next build removes


def test_a_living_process_keeps_its_vault() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        held = Path(child.stdout.readline().strip())
        with vault("build"):
            pass
        time.sleep(0.1)
        assert held.exists()
    finally:
        child.kill()
        child.wait()
