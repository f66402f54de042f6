"""The record tells the truth about interrupted runs and needs no more than
a run needs: a run whose CLI is killed is ``lost`` at the next read (never
``running``), one whose container or driver is killed is ``failed`` with the
reason, and a local run needs neither BuildKit nor the registry."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import docker
import pytest

from pulumi_mlenv.compute.docker_target import RUN_LABEL
from support.runs import MASTER, Cli, definition

pytestmark = pytest.mark.docker

SLEEPER = """\
import time
print("started", flush=True)
time.sleep(600)
"""


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return definition(tmp_path / "def", "truth-env", ["six==1.16.0"])


def _start(cli: Cli, script: Path, env_file: Path, compute: str) -> subprocess.Popen[str]:
    proc = cli.start("run", "submit", str(script), "--env", str(env_file), "--compute", compute)
    assert proc.stdout is not None
    for line in proc.stdout:  # the script's first line, from the host, container or driver
        if "started" in line:
            return proc
    raise AssertionError(proc.communicate())


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if stat[1] == str(pid):
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Still running (a zombie waiting for its reaper is not)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("compute", ["local", "docker", "spark-local"])
def test_a_killed_cli_leaves_a_lost_run_never_a_running_one(
    cli: Cli, env_file: Path, tmp_path: Path, compute: str, request: pytest.FixtureRequest
) -> None:
    if compute == "spark-local":
        request.getfixturevalue("spark_cluster")
        cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = _start(cli, script, env_file, compute)
    [run] = cli.runs()
    assert run["status"] == "running"
    children = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)  # no handler runs: nothing records the end
    proc.wait()
    [run] = cli.runs()  # the very next read tells
    assert run["status"] == "lost"
    assert f"pid {proc.pid}" in run["error"] and run["ended_at"]
    shown = cli("run", "show", run["id"])
    assert "lost" in shown.stdout
    if compute == "docker":
        engine = docker.from_env()
        try:
            left = engine.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run['id']}"})
        finally:
            engine.close()
        assert left == []  # the read removed what the dead run left
    else:  # the script (or spark-submit and its driver) is stopped by the read
        assert children and not [c for c in children if _alive(c)]
    for child in children:  # the script of the dead CLI: not this test's to leave
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)


def test_a_killed_container_fails_the_run_with_the_reason(
    cli: Cli, env_file: Path, tmp_path: Path
) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = _start(cli, script, env_file, "docker")
    [run] = cli.runs()
    engine = docker.from_env()
    try:
        [container] = engine.containers.list(filters={"label": f"{RUN_LABEL}={run['id']}"})
        container.kill()
    finally:
        engine.close()
    proc.communicate()
    assert proc.returncode == 137
    [run] = cli.runs()
    assert (run["status"], run["exit_code"]) == ("failed", 137)
    assert "killed by SIGKILL" in run["error"]


def test_a_killed_spark_driver_fails_the_run_with_the_reason(
    cli: Cli, env_file: Path, tmp_path: Path, spark_cluster: str
) -> None:
    cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = _start(cli, script, env_file, "spark-local")
    [driver] = _children(proc.pid)  # spark-submit, in a session of its own
    os.killpg(driver, signal.SIGKILL)
    proc.communicate()
    [run] = cli.runs()
    assert run["status"] == "failed" and run["exit_code"] != 0
    assert "killed by SIGKILL" in run["error"]


def test_a_local_run_needs_neither_buildkit_nor_the_registry(
    tmp_path: Path, machine: dict[str, str], env_file: Path
) -> None:
    buildkit = machine["MLENV_BUILDKIT_BIN"]
    path = os.pathsep.join(p for p in machine["PATH"].split(os.pathsep) if p != buildkit)
    cli = Cli(
        tmp_path,
        PATH=path,
        MLENV_REGISTRY="127.0.0.1:9",
        BUILDKIT_HOST="unix:///nonexistent/buildkitd.sock",
    )
    assert subprocess.run(["which", "buildctl"], env=cli.env, capture_output=True).returncode != 0
    script = tmp_path / "hello.py"
    script.write_text("import six, os\nprint('six', six.__version__, os.environ['GREETING'])\n")
    run = cli.json("run", "submit", str(script), "--env", str(env_file), "-c", "local", "--json")
    assert (run["status"], run["lock"]) == ("completed", ["six==1.16.0"])
    assert "six 1.16.0 hello" in Path(run["logs"]).read_text()
    assert run["environment"]["version"] == "1" and not run["environment"]["image"]
    # The same version on docker (with the registry and BuildKit back) gets its image then.
    docker_run = Cli(tmp_path).json(
        "run", "submit", str(script), "--env", "truth-env:1", "-c", "docker", "--json"
    )
    assert docker_run["status"] == "completed"
    assert "@sha256:" in docker_run["environment"]["image"]
    assert docker_run["environment"]["version"] == "1"
