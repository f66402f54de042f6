"""Bad input and faults, as a user meets them through ``mlenv run``: a
missing script or source stops before anything starts; a failing script is
recorded failed with its exit code and the end of its log; a target that
does not answer is one line and leaves no run; SIGTERM stops the process,
container or Spark application and records the run cancelled; a Spark
package that does not exist is named."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import docker
import pytest

from pulumi_mlenv.compute.docker_target import RUN_LABEL
from support.runs import MASTER, Cli, definition, spark_apps

pytestmark = pytest.mark.docker


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return definition(tmp_path / "env", "faults-env", ["six==1.16.0"])


def test_missing_script_or_source_stops_before_anything_starts(
    cli: Cli, env_file: Path, tmp_path: Path
):
    missing = cli("run", "submit", str(tmp_path / "nope.py"), "--env", str(env_file))
    assert missing.returncode == 2
    assert "script: script" in missing.stderr and "nope.py' not found" in missing.stderr
    (tmp_path / "train.py").write_text("print(1)\n")
    no_source = cli(
        "run", "submit", "train.py", "--env", str(env_file), "--source", str(tmp_path / "gone")
    )
    assert no_source.returncode == 2 and "source folder" in no_source.stderr
    assert "does not exist" in no_source.stderr
    no_env = cli("run", "submit", str(tmp_path / "train.py"), "--env", "never-registered:4")
    assert no_env.returncode == 2
    assert "no environment never-registered:4 in the workspace" in no_env.stderr
    assert cli.runs() == []  # nothing recorded, nothing registered
    assert "no active versions registered" in cli("env", "versions").stdout


@pytest.mark.parametrize("compute", ["local", "docker"])
def test_a_failing_script_is_recorded_failed_with_its_exit_code_and_log_tail(
    cli: Cli, env_file: Path, tmp_path: Path, compute: str
):
    script = tmp_path / "fail.py"
    script.write_text(
        "import sys\nfor i in range(30):\n    print('line', i)\n"
        "print('boom: bad input', file=sys.stderr)\nsys.exit(3)\n"
    )
    done = cli("run", "submit", str(script), "--env", str(env_file), "--compute", compute)
    assert done.returncode == 3
    assert "line 0" in done.stdout  # streamed as it came
    assert "failed with exit code 3; last lines of" in done.stderr
    tail = done.stderr.split("last lines of", 1)[1].splitlines()[1:]
    assert len(tail) == 20 and "line 29" in tail and "line 5" not in tail
    [run] = cli.runs()
    # Docker copies a container's stdout and stderr separately: their order may vary.
    assert "boom: bad input" in Path(run["logs"]).read_text()
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    assert run["ended_at"] and run["started_at"]


@pytest.mark.parametrize("kind", ["docker", "spark", "ray"])
def test_a_target_that_does_not_answer_is_one_line_and_leaves_no_run(
    cli: Cli, env_file: Path, tmp_path: Path, kind: str
):
    scheme = {"docker": "tcp", "spark": "spark", "ray": "http"}[kind]
    url = f"{scheme}://127.0.0.1:{closed_port()}"
    assert cli("compute", "add", "dead", "--kind", kind, "--url", url).returncode == 0
    (tmp_path / "train.py").write_text("print(1)\n")
    done = cli("run", "submit", str(tmp_path / "train.py"), "--env", str(env_file), "-c", "dead")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "unreachable: connection refused" in lines[0]
    assert [r for r in cli.runs() if r["status"] in ("queued", "running")] == []


SLEEPER = """\
import os, sys, time
print("started", flush=True)
if os.environ.get("SPARK_HOME"):
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    print("spark app running", flush=True)
    spark.sparkContext.parallelize([1], 1).map(lambda x: time.sleep(600)).collect()
time.sleep(600)
"""


@pytest.mark.parametrize("compute", ["local", "docker", "spark-local"])
def test_sigterm_stops_the_run_and_records_it_cancelled(
    cli: Cli, env_file: Path, tmp_path: Path, compute: str, request: pytest.FixtureRequest
):
    if compute == "spark-local":
        request.getfixturevalue("spark_cluster")
        cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = cli.start("run", "submit", str(script), "--env", str(env_file), "--compute", compute)
    assert proc.stdout is not None
    wanted = "spark app running" if compute == "spark-local" else "started"
    for line in proc.stdout:  # the script's output, live
        if wanted in line:
            break
    [run] = cli.runs()
    assert run["status"] == "running"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    assert "run cancelled" in err
    [run] = cli.runs()
    assert (run["status"], run["exit_code"]) == ("cancelled", None)
    if compute == "docker":
        engine = docker.from_env()
        try:
            left = engine.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run['id']}"})
        finally:
            engine.close()
        assert left == []
    if compute == "spark-local":
        active = [a["name"] for a in spark_apps("activeapps")]
        assert f"mlenv-{run['id']}" not in active
        done = [a for a in spark_apps("completedapps") if a["name"] == f"mlenv-{run['id']}"]
        assert [a["state"] for a in done] in (["KILLED"], ["FINISHED"])


def test_a_spark_package_that_does_not_exist_is_named(cli: Cli, tmp_path: Path, spark_cluster: str):
    env_file = definition(
        tmp_path / "env", "bad-spark-package", ["six==1.16.0"],
        spark=["org.example.mlenv:does-not-exist:0.0.1"],
    )  # fmt: skip
    cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    (tmp_path / "job.py").write_text("print('never runs')\n")
    done = cli(
        "run", "submit", str(tmp_path / "job.py"), "--env", str(env_file),
        "--compute", "spark-local", "--json",
    )  # fmt: skip
    assert done.returncode == 1
    assert "error: Spark package org.example.mlenv:does-not-exist:0.0.1 could not be resolved" in (
        done.stderr
    )
    [run] = cli.runs()
    assert run["status"] == "failed"
    assert "org.example.mlenv:does-not-exist:0.0.1" in run["error"]
    assert json.loads(cli("run", "show", run["id"], "--json").stdout)["error"] == run["error"]
