"""A second, private BuildKit daemon: "another machine" for reproducibility tests.

Same binary and registry configuration as the shared daemon
(scripts/setup-buildkit.sh), but its own empty ``--root`` (so no layer cache
and no download cache) and its own socket, on the host network. Stopped by
its process id at teardown.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.waiting import wait_for

__all__ = ["CONFIG", "buildkitd_process", "private_buildkitd"]

CONFIG = """\
[worker.oci]
  enabled = true
  gc = false
[worker.containerd]
  enabled = false
[registry."127.0.0.1:5000"]
  http = true
  insecure = true
"""


def _answers(address: str) -> bool:
    probe = subprocess.run(
        ["buildctl", "--addr", address, "debug", "workers"], capture_output=True, check=False
    )
    return probe.returncode == 0


@contextmanager
def buildkitd_process(folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start buildkitd with an empty root under ``folder``; yield its address
    and process (a test may stop it mid-build). At the end it is stopped,
    the mounts a killed daemon's build leaves are unmounted, its root removed."""
    binary = Path(os.environ["MLENV_BUILDKIT_BIN"]) / "buildkitd"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "buildkitd.toml").write_text(CONFIG)
    address = f"unix://{folder}/buildkitd.sock"
    log = (folder / "buildkitd.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "--config",
            folder / "buildkitd.toml",
            "--root",
            folder / "root",
            "--addr",
            address,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"buildkitd exited: {(folder / 'buildkitd.log').read_text()}")
            return _answers(address)

        wait_for(ready, f"the private buildkitd at {address}")
        yield address, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        mounts = Path("/proc/self/mounts").read_text().split("\n")
        inside = [m.split()[1] for m in mounts if m and m.split()[1].startswith(str(folder))]
        for point in sorted(inside, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(folder / "root", ignore_errors=True)


@contextmanager
def private_buildkitd(folder: Path) -> Iterator[str]:
    """Start buildkitd with an empty root under ``folder``; yield its address."""
    with buildkitd_process(folder) as (address, _):
        yield address
