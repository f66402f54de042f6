"""`pulumi up` interrupted while an Environment builds: SIGKILL of the
dynamic provider, and separately of the `pulumi` CLI, once BuildKit runs the
build's slow step.

What must hold: the user sees what happened (the provider's death is named
with the Environment it was building, not only the engine's
``error reading from server: EOF``); the workspace holds no version and the
registry no tag of it; the provider's build ends with it; nothing is
orphaned once the rerun converges: no build lease, no build folder or
secret vault of the dead provider, no note of it; the rerun (a quick step,
so that it finishes) records version 1 with its tag.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pulumi_mlenv.imaging.vault import vault_base
from support.private_registry import registry_tags
from support.processes import alive, cmdline, descendants, pulumi
from support.waiting import wait_for

pytestmark = [pytest.mark.engine, pytest.mark.docker]

PROGRAM = """
import os
import pulumi
from pulumi_mlenv.resources import Environment, Workspace

workspace = Workspace("ws", path="ws.db")
# The test's first `up` sleeps in the build; its rerun does not.
step = "RUN sleep 600 # MARKER" if os.environ.get("SLOW") else "RUN true # MARKER"
env = Environment(
    "slow",
    python={"user_managed": True, "interpreter_path": "/usr/bin/python3"},
    docker={"steps": [step]},
    workspace=workspace,
)
pulumi.export("image", env.image)
"""


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not there yet
            return 0


def _running(marker: str) -> bool:
    """Whether the build step's shell (``sh -c "sleep 600 # marker"``) runs."""
    return any(marker in cmdline(int(p.name)) for p in Path("/proc").glob("[0-9]*"))


def _leftovers(cache: Path, pid: int) -> list[str]:
    """Build folders, vaults and notes of process ``pid``."""
    found = [*(cache / "build").glob(f"build-{pid}-*"), *vault_base().glob(f"build-{pid}-*")]
    return [str(p) for p in [*found, *(cache / "inflight").glob(f"{pid}.json")]]


@pytest.mark.parametrize("victim", ["provider", "pulumi CLI"])
def test_a_killed_build_is_named_and_a_rerun_converges_with_nothing_orphaned(
    machine: dict[str, str], tmp_path: Path, victim: str
) -> None:
    marker = f"mlenv-killed-build-{uuid.uuid4().hex[:8]}"
    repo = f"t-{uuid.uuid4().hex[:10]}"
    (tmp_path / "Pulumi.yaml").write_text("name: killed-build\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM.replace("MARKER", marker))
    (tmp_path / "backend").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        "MLENV_REGISTRY": f"{machine['MLENV_REGISTRY']}/{repo}",
        "MLENV_CACHE_DIR": str(tmp_path / "cache"),
    }
    registry, repo = env["MLENV_REGISTRY"].split("/", 1)  # the repositories of this test
    db, cache = tmp_path / "ws.db", tmp_path / "cache"
    assert pulumi(tmp_path, env, "stack", "init", "test").returncode == 0
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", "test"],
        cwd=tmp_path, env={**env, "SLOW": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    provider = builder = 0
    deadline = time.monotonic() + 600
    while not (provider and builder):  # until BuildKit runs the slow step
        for pid in descendants(up.pid):
            if "pulumi.dynamic" in cmdline(pid):
                provider = pid
            if "buildctl" in cmdline(pid) and provider and pid in descendants(provider):
                builder = pid
        assert up.poll() is None, f"up ended before the build started:\n{up.communicate()[0]}"
        assert time.monotonic() < deadline, "the provider never started the build"
        time.sleep(0.5)
    wait_for(lambda: _running(marker), "BuildKit to run the slow step (sleep 600)")
    os.kill(provider if victim == "provider" else up.pid, signal.SIGKILL)
    killed_at = time.time()
    said = up.communicate(timeout=300)[0]
    for _ in range(120):  # the lifeline polls every second
        if not alive(provider) and not alive(builder):
            break
        time.sleep(0.5)
    assert not alive(provider), "the provider outlived the engine"
    assert not alive(builder), "the build outlived its provider"

    if victim == "provider":  # the CLI's output died with it: the shell says `Killed`
        assert "error reading from server: EOF" in said, said
        assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    assert _count(db, "mlenv_versions") == 0
    assert registry_tags(registry, repo) == []

    if victim == "pulumi CLI":  # resume as docs/resources.md says
        for step in (["cancel", "--yes"], ["refresh", "--yes", "--clear-pending-creates"]):
            done = pulumi(tmp_path, env, *step, "--stack", "test")
            assert done.returncode == 0, done.stdout + done.stderr
    again = pulumi(tmp_path, env, "up", "--yes", "--skip-preview", "--stack", "test")
    assert again.returncode == 0, again.stdout + again.stderr
    # Said by the program as the provider dies when the language host lets it
    # (not always: it may stop the program first), and by the rerun always.
    named = f"mlenv provider process (pid {provider}) died while building"
    assert named in again.stdout, again.stdout
    assert _count(db, "mlenv_versions") == 1
    assert len(registry_tags(registry, repo)) >= 1  # the image, now with its record
    # The dead provider's build lease is not released: it expires, its
    # heartbeat gone, within its 60 s (the rerun's own was released).
    with sqlite3.connect(db) as conn:
        expiries = [row[0] for row in conn.execute("SELECT expires_at FROM mlenv_leases")]
    assert len(expiries) <= 1 and all(e <= killed_at + 61 for e in expiries), expiries
    assert _leftovers(cache, provider) == []
    assert pulumi(tmp_path, env, "destroy", "--yes", "--stack", "test").returncode == 0
