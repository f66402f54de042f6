"""A BuildKit daemon that dies in the middle of a build: one line naming its
address and where the full log is, never a traceback or a log dump. The test
runs its own daemon (empty root, own socket) and kills it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import EngineError
from pulumi_mlenv.service import ensure_image
from pulumi_mlenv.service.resolved import resolve
from support.services import fresh_settings

pytestmark = pytest.mark.docker

CONFIG = """
[worker.oci]
  enabled = true
[worker.containerd]
  enabled = false
[registry."127.0.0.1:5000"]
  http = true
  insecure = true
"""


def test_a_daemon_killed_mid_build_is_one_line_with_the_log_path(
    machine: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "buildkitd.toml").write_text(CONFIG)
    address = f"unix://{tmp_path / 'buildkitd.sock'}"
    daemon = subprocess.Popen(
        [
            str(Path(os.environ["MLENV_BUILDKIT_BIN"]) / "buildkitd"),
            "--config", str(tmp_path / "buildkitd.toml"),
            "--root", str(tmp_path / "root"),
            "--addr", address,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        settings = replace(fresh_settings(tmp_path), buildkit_host=address)
        marker = f"slow-{uuid.uuid4().hex[:8]}"
        spec = parse_definition(
            {
                "name": "slow",
                "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
                "docker": {"steps": [f"RUN sleep 300 # {marker}"]},
            }
        )
        sleeping = threading.Event()
        outcome: list[BaseException] = []

        def build() -> None:
            try:
                ensure_image(
                    resolve(spec, settings),
                    settings=settings,
                    progress=lambda e: sleeping.set() if marker in e.name else None,
                )
            except BaseException as exc:  # what the caller would see
                outcome.append(exc)

        thread = threading.Thread(target=build)
        for _ in range(100):  # the daemon takes a moment to answer
            if Path(address.removeprefix("unix://")).exists():
                break
            time.sleep(0.1)
        thread.start()
        assert sleeping.wait(timeout=600), "the slow step never started"
        daemon.send_signal(signal.SIGKILL)
        thread.join()
    finally:
        daemon.kill()
        daemon.wait()
        _unmount_under(tmp_path)
    assert outcome and isinstance(outcome[0], EngineError), outcome
    message = str(outcome[0])
    assert "\n" not in message
    assert f"BuildKit daemon at {address} stopped answering" in message
    log = Path(message.rsplit("full log: ", 1)[1].rstrip(")"))
    assert log.is_file() and marker in log.read_text()


def _unmount_under(folder: Path) -> None:
    """A killed daemon leaves its build mounts behind: undo them."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(str(folder))), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)
