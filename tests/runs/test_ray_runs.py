"""Runs on the local two-node Ray cluster (``make ray``), as a user meets
them through ``mlenv run``: tasks spread over both nodes import the
environment's package version and see its variables, with Ray added beside
the environment and the hash untouched; a rerun does the same; a failing
script's exit code; an environment pinning another Ray is refused before
anything starts; SIGTERM stops the Ray job; a node lost mid-run is recorded
failed with the reason."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from support.ray_cluster import ROOT, lose_worker_node, ray_job
from support.runs import Cli, definition

#: One xdist worker runs every test on the shared cluster: one of them kills
#: its worker node, which would fail a test running beside it on that node.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("ray-cluster")]

#: Eight tasks, four pinned to each alive node (Ray's SPREAD strategy is
#: best effort and put all eight on one node of a busy machine), each
#: reporting where it ran and what it imported; the driver reports the same.
SPREAD = """\
import json, os, sys

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy


def report():
    import importlib.metadata as md, os, sys
    import six
    return {
        "node": ray.get_runtime_context().get_node_id(),
        "six": six.__version__,
        "six_dist": md.version("six"),
        "greeting": os.environ.get("GREETING"),
        "python": sys.executable,
    }


@ray.remote
def task(_):
    return report()


ray.init()
nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
on = [NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=False) for i in range(8)]
result = {"driver": report(), "nodes": nodes, "tasks": ray.get(
    [task.options(scheduling_strategy=on[i]).remote(i) for i in range(8)], timeout=300
)}
print("PROBE " + json.dumps(result), flush=True)
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "probe.json"), "w") as out:
    json.dump(result, out)
"""


@pytest.fixture
def ray_cli(tmp_path: Path, ray_cluster: str) -> Cli:
    # Both nodes alive for each test (a node lost since is started again).
    ensured = subprocess.run(
        [str(ROOT / "scripts" / "setup-ray.sh")], capture_output=True, text=True, check=False
    )
    assert ensured.returncode == 0, ensured.stdout + ensured.stderr
    cli = Cli(tmp_path)
    assert cli("compute", "add", "ray-local", "--kind", "ray", "--url", ray_cluster).returncode == 0
    return cli


def _report(run: dict[str, object]) -> dict[str, object]:
    return dict(json.loads((Path(str(run["outputs"])) / "probe.json").read_text()))


def test_tasks_on_both_nodes_run_the_environment_and_a_rerun_does_the_same(
    ray_cli: Cli, tmp_path: Path, ray_cluster: str
):
    env_file = definition(tmp_path / "env", "ray-spread", ["six==1.16.0"])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "spread.py").write_text(SPREAD)
    done = ray_cli(
        "run", "submit", str(tmp_path / "src" / "spread.py"), "--env", str(env_file),
        "--compute", "ray-local", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PROBE " in done.stderr  # the driver's output streamed (stderr with --json)
    run = json.loads(done.stdout)
    assert (run["status"], run["exit_code"], run["compute_kind"]) == ("completed", 0, "ray")
    assert run["compute_url"] == ray_cluster
    assert run["lock"] == ["six==1.16.0"]  # the environment's lock: Ray is not in it
    details = run["details"]
    assert details["ray_job_id"] == f"mlenv-{run['id']}"
    assert ray_job(details["ray_job_id"])["status"] == "SUCCEEDED"
    assert details["environment_delivery"] == "py_executable"
    assert f"ray=={details['ray_version']}" in details["added"]
    assert not any(p.startswith("six==") for p in details["added"])
    report = _report(run)
    tasks = report["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 8
    nodes = report["nodes"]
    assert isinstance(nodes, list) and len(nodes) == 2
    assert {t["node"] for t in tasks} == set(nodes)  # both nodes ran the environment
    for where in [report["driver"], *tasks]:
        assert (where["six"], where["six_dist"], where["greeting"]) == ("1.16.0", "1.16.0", "hello")
        assert where["python"] == details["python"]
    # The environment's own virtualenv (keyed by its hash) is untouched: no Ray.
    venv = Path(ray_cli.env["MLENV_CACHE_DIR"]) / "venvs" / run["environment"]["hash"]
    assert (venv / "lock.txt").read_text().split() == run["lock"]
    no_ray = subprocess.run([str(venv / "bin" / "python"), "-c", "import ray"], check=False)
    assert no_ray.returncode != 0
    # A rerun: the same environment, lock, added packages and source, on the cluster.
    again = ray_cli.json("run", "rerun", run["id"], "--json")
    assert (again["status"], again["rerun_of"]) == ("completed", run["id"])
    assert (again["environment"], again["lock"]) == (run["environment"], run["lock"])
    assert again["source_hash"] == run["source_hash"]
    assert again["details"]["added"] == details["added"]
    assert again["details"]["ray_job_id"] == f"mlenv-{again['id']}"
    assert {t["six"] for t in _report(again)["tasks"]} == {"1.16.0"}  # type: ignore[union-attr]


def test_a_failing_script_gives_its_exit_code(ray_cli: Cli, tmp_path: Path):
    env_file = definition(tmp_path / "env", "ray-fail", ["six==1.16.0"])
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('bad input', flush=True)\nsys.exit(3)\n")
    done = ray_cli("run", "submit", str(script), "--env", str(env_file), "-c", "ray-local")
    assert done.returncode == 3, done.stderr[-2000:]
    assert "bad input" in done.stdout
    assert "failed with exit code 3; last lines of" in done.stderr
    [run] = ray_cli.runs()
    assert (run["status"], run["exit_code"], run["error"]) == ("failed", 3, None)
    assert ray_job(run["details"]["ray_job_id"])["status"] == "FAILED"


def test_an_environment_pinning_another_ray_is_refused_before_anything_starts(
    ray_cli: Cli, tmp_path: Path
):
    env_file = definition(tmp_path / "env", "ray-other", ["ray==2.9.3"])
    (tmp_path / "job.py").write_text("print('never runs')\n")
    job = str(tmp_path / "job.py")
    done = ray_cli("run", "submit", job, "--env", str(env_file), "-c", "ray-local")
    assert done.returncode == 2
    assert "the environment pins ray ==2.9.3 but the cluster at" in done.stderr
    assert "runs Ray 2.60.0" in done.stderr and "pin ray==2.60.0" in done.stderr
    assert ray_cli.runs() == []
    assert "ray-other" not in ray_cli("env", "versions").stdout  # nothing registered or built


SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(600)\n"

#: Holds a task on the worker node (no retries) until that node is lost.
HOLD = """\
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

ray.init()
head = ray.get_runtime_context().get_node_id()
worker = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != head)


@ray.remote(max_retries=0)
def hold():
    print("holding the worker node", flush=True)
    time.sleep(600)


pinned = NodeAffinitySchedulingStrategy(worker, soft=False)
ray.get(hold.options(scheduling_strategy=pinned).remote(), timeout=900)
"""


def test_sigterm_stops_the_ray_job_and_records_it_cancelled(ray_cli: Cli, tmp_path: Path):
    env_file = definition(tmp_path / "env", "ray-stop", ["six==1.16.0"])
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    proc = ray_cli.start("run", "submit", str(tmp_path / "sleeper.py"), "--env", str(env_file),
                         "-c", "ray-local")  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:  # the script's output, live
        if "started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    [run] = ray_cli.runs()
    assert (run["status"], run["exit_code"]) == ("cancelled", None)
    assert ray_job(run["details"]["ray_job_id"])["status"] == "STOPPED"


def test_a_node_lost_mid_run_is_recorded_failed_with_the_reason(ray_cli: Cli, tmp_path: Path):
    env_file = definition(tmp_path / "env", "ray-lost", ["six==1.16.0"])
    (tmp_path / "hold.py").write_text(HOLD)
    proc = ray_cli.start("run", "submit", str(tmp_path / "hold.py"), "--env", str(env_file),
                         "-c", "ray-local")  # fmt: skip
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "holding the worker node" in line:
                break
        lose_worker_node()
        _, err = proc.communicate()
    finally:  # the next tests get both nodes again
        restored = subprocess.run(
            [str(ROOT / "scripts" / "setup-ray.sh")], capture_output=True, text=True, check=False
        )
    assert proc.returncode == 1
    [line] = [x for x in err.splitlines() if x.startswith("error:")]
    assert "ray node 127.0.0.1 (" in line and "was lost during job mlenv-" in line
    [run] = ray_cli.runs()
    assert run["status"] == "failed" and "was lost during job" in run["error"]
    assert restored.returncode == 0, restored.stdout + restored.stderr
