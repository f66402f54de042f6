"""What a Ray run costs, on the local two-node cluster of `make ray`
(started when missing), side by side in one run:

- a trivial job through `mlenv run submit` vs a plain `ray job submit` of
  the same script with the same environment (the same interpreter as
  `py_executable` and entrypoint, the same variables and working folder);
- 1,000 tiny tasks in the environment vs the same tasks in the cluster's
  own virtualenv (timed inside the job, around the tasks only);
- the start of an environment on a fresh worker: a first run (the layer
  with the cluster's Ray made, a new worker process started in the
  environment) vs a cached one (layer reused), and, inside a job, the first
  task (a fresh worker process) vs the next (a worker already running).

The pairs are timed alternately and the medians compared.

    python benchmarks/bench_ray.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from _bench import SMALL_DEFINITION, Row, print_table, say, timed_run

ROOT = Path(__file__).resolve().parents[1]
URL = f"http://127.0.0.1:{os.environ.get('MLENV_RAY_PORT', '8265')}"

DEFINITION = SMALL_DEFINITION.format(name="bench-ray")
TRIVIAL = "print('hi')\n"
TASKS = """\
import time

import ray

ray.init()


@ray.remote
def tiny(i):
    return i


start = time.perf_counter()
first = ray.get(tiny.remote(0), timeout=600)
fresh = time.perf_counter() - start
start = time.perf_counter()
ray.get(tiny.remote(1), timeout=600)
warm = time.perf_counter() - start
ray.get([tiny.remote(i) for i in range(50)], timeout=600)  # enough workers started
start = time.perf_counter()
assert sum(ray.get([tiny.remote(i) for i in range(1000)], timeout=600)) == 499500
print(f"TIMES fresh={fresh:.4f} warm={warm:.4f} tasks={time.perf_counter() - start:.4f}")
"""
_TIMES = re.compile(r"TIMES fresh=([\d.]+) warm=([\d.]+) tasks=([\d.]+)")


def run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    return timed_run(command, env)


def times(text: str) -> tuple[float, float, float]:
    match = _TIMES.search(text)
    if not match:
        sys.exit(f"no TIMES line in:\n{text[-2000:]}")
    fresh, warm, tasks = (float(g) for g in match.groups())
    return fresh, warm, tasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 runs (a smoke run)")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    say("starting the local Ray cluster (make ray) when missing")
    subprocess.run([str(ROOT / "scripts" / "setup-ray.sh")], check=True, capture_output=True)
    cache = Path(os.environ["MLENV_CACHE_DIR"])
    ray_cli = str(next((cache / "ray").glob("ray-*/bin/ray")))
    cluster_python = str(Path(ray_cli).parent / "python")
    mlenv = str(Path(sys.executable).parent / "mlenv")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp_name:
        tmp = Path(tmp_name)
        env = {
            **os.environ,
            "MLENV_WORKSPACE": f"sqlite:///{tmp / 'ws.db'}",
            "MLENV_RUNS_DIR": str(tmp / "runs"),
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        (tmp / "env").mkdir()
        (tmp / "env" / "mlenv.yml").write_text(DEFINITION)
        src = tmp / "src"
        src.mkdir()
        (src / "trivial.py").write_text(TRIVIAL)
        (src / "tasks.py").write_text(TASKS)
        run([mlenv, "compute", "add", "ray-local", "--kind", "ray", "--url", URL], env)

        def ours(script: str) -> tuple[float, str, dict[str, object]]:
            seconds, _ = run(
                [mlenv, "run", "submit", str(src / script), "--env", str(tmp / "env" / "mlenv.yml"),
                 "-c", "ray-local", "--json"], env,
            )  # fmt: skip
            listed = subprocess.run(
                [mlenv, "run", "list", "--json", "-n", "1"],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            record = json.loads(listed.stdout)[0]
            return seconds, Path(record["logs"]).read_text(), record

        def plain(script: str, python: str | None) -> tuple[float, str]:
            runtime_env: dict[str, object] = {
                "working_dir": str(src),
                "env_vars": {"GREETING": "hello", "PYTHONUNBUFFERED": "1"},
            }
            if python:
                runtime_env["py_executable"] = python
            return run(
                [ray_cli, "job", "submit", "--address", URL,
                 "--submission-id", f"bench-{uuid.uuid4().hex[:10]}",
                 "--runtime-env-json", json.dumps(runtime_env), "--",
                 python or cluster_python, script], env,
            )  # fmt: skip

        say("warming up: the environment, its layer, byte-code")
        _, _, record = ours("trivial.py")
        details = record["details"]
        layer_python = str(details["python"])
        layer = Path(layer_python).parent.parent
        plain("trivial.py", layer_python)
        rows: dict[str, tuple[list[float], list[float]]] = {
            k: ([], []) for k in ("trivial", "tasks", "first", "fresh")
        }
        for i in range(runs):
            say(f"run {i + 1}/{runs}")
            a, _, _ = ours("trivial.py")
            b, _ = plain("trivial.py", layer_python)
            rows["trivial"][0].append(a)
            rows["trivial"][1].append(b)
            _, log, _ = ours("tasks.py")
            _, base_log = plain("tasks.py", None)
            fresh, warm, tasks = times(log)
            rows["tasks"][0].append(tasks)
            rows["tasks"][1].append(times(base_log)[2])
            rows["fresh"][0].append(fresh)
            rows["fresh"][1].append(warm)
            shutil.rmtree(layer)  # a first start: the layer is made again
            first, _, _ = ours("trivial.py")
            cached, _, _ = ours("trivial.py")
            rows["first"][0].append(first)
            rows["first"][1].append(cached)
    print_table(
        "Ray runs on the local 2-node cluster (ours vs reference)",
        [
            Row("trivial job: mlenv run submit vs ray job submit", *rows["trivial"], 1.2),
            Row("1,000 tiny tasks: environment vs cluster's venv", *rows["tasks"], 1.1),
            Row("new environment run (layer made) vs cached", *rows["first"], None),
            Row("first task (fresh worker) vs next task", *rows["fresh"], None),
        ],
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"layer added: {', '.join(map(str, details['added']))})")  # fmt: skip


if __name__ == "__main__":
    main()
