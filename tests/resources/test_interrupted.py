"""`pulumi up` killed in the middle of a build: the provider process and the
build it started end with the engine, and the stack can be resumed as
docs/resources.md says (`pulumi cancel` removes the lock the killed update
left; `pulumi refresh --clear-pending-creates` forgets the interrupted
create)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from support.processes import alive as _alive
from support.processes import cmdline as _cmdline
from support.processes import descendants as _descendants

pytestmark = pytest.mark.engine

PROGRAM = """
import pulumi
from pulumi_mlenv.resources import Environment, Workspace

workspace = Workspace("ws", path="ws.db")
env = Environment(
    "slow",
    python={"user_managed": True, "interpreter_path": "/usr/bin/python3"},
    docker={"steps": ["RUN sleep 600 # MARKER"]},
    workspace=workspace,
)
pulumi.export("image", env.image)
"""


def test_killing_up_mid_build_ends_the_provider_and_its_build(
    machine: dict[str, str], tmp_path: Path
) -> None:
    marker = f"mlenv-interrupt-{uuid.uuid4().hex[:8]}"
    (tmp_path / "Pulumi.yaml").write_text("name: interrupted\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM.replace("MARKER", marker))
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}",
        "MLENV_REGISTRY": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
    }
    (tmp_path / "backend").mkdir()
    subprocess.run(["pulumi", "stack", "init", "test"], cwd=tmp_path, env=env, check=True)
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", "test"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    provider: int | None = None
    builder: int | None = None
    for _ in range(600):  # until the build of the slow step is running
        for pid in _descendants(up.pid):
            line = _cmdline(pid)
            if "pulumi.dynamic" in line:
                provider = pid
            if "buildctl" in line and provider and pid in _descendants(provider):
                builder = pid
        if provider and builder:
            break
        assert up.poll() is None, "pulumi up ended before the build started"
        time.sleep(0.5)
    assert provider and builder, "the provider never started the build"
    up.send_signal(signal.SIGKILL)
    up.wait()
    for _ in range(120):  # the lifeline polls every second
        if not _alive(provider) and not _alive(builder):
            break
        time.sleep(0.5)
    assert not _alive(provider), "the provider outlived the engine"
    assert not _alive(builder), "the build outlived the engine"
    # Resumable as documented: remove the lock, forget the interrupted create.
    for command in (
        ["pulumi", "cancel", "--yes", "--stack", "test"],
        ["pulumi", "refresh", "--yes", "--clear-pending-creates", "--stack", "test"],
    ):
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    state = subprocess.run(
        ["pulumi", "stack", "export", "--stack", "test"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert '"pending_operations"' not in state or '"pending_operations": []' in state
