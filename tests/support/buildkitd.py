"""A second, private BuildKit daemon: "another machine" for reproducibility tests.

Same binary and registry configuration as the shared daemon
(scripts/setup-buildkit.sh), but its own empty ``--root`` (so no layer cache
and no download cache) and its own socket, on the host network. Stopped by
its process id at teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.waiting import wait_for

__all__ = ["private_buildkitd"]

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
def private_buildkitd(folder: Path) -> Iterator[str]:
    """Start buildkitd with an empty root under ``folder``; yield its address."""
    binary = Path(os.environ["MLENV_BUILDKIT_BIN"]) / "buildkitd"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "buildkitd.toml").write_text(CONFIG)
    address = f"unix://{folder}/buildkitd.sock"
    log = (folder / "buildkitd.log").open("w")
    proc = subprocess.Popen(
        [
            str(binary),
            "--config",
            str(folder / "buildkitd.toml"),
            "--root",
            str(folder / "root"),
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
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["rm", "-rf", str(folder / "root")], check=False)
