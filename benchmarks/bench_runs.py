"""What a recorded run costs over running the same thing by hand, side by
side in one run:

- the CLI's start: ``mlenv run list`` (a workspace with a few runs) vs
  ``python -c pass`` with the same interpreter;
- `mlenv run submit` of a trivial script (and of one that works for two
  seconds) on `docker` vs a plain `docker run` of the same image (by
  digest) and command, with the same mounts;
- on `local` vs the same script run by the environment's virtualenv python
  directly (a trivial script, and one that works for two seconds: the fixed
  cost of the CLI, the workspace and the registry check shows in both);
- a Spark run on the local cluster vs a plain `spark-submit` of the same
  script with the same archive already packed; and the packing time of a
  first run with a new environment.

Everything is warmed first (image built and pulled, virtualenv made, archive
packed, byte-code written), then each pair is timed alternately (ours, the
baseline, ours...) and the ratio taken pair by pair: the table prints its
median and spread (min-max), the aim and whether it is met.

    python benchmarks/bench_runs.py [--runs 5] [--spark-runs 3] [--no-spark] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import SMALL_DEFINITION, Row, pair, print_table, timed_run

ROOT = Path(__file__).resolve().parents[1]
MASTER = "spark://127.0.0.1:7077"

DEFINITION = SMALL_DEFINITION.format(name="bench-runs")
TRIVIAL = "print('hi')\n"
WORKS = "import time\ntime.sleep(2)\nprint('done')\n"
SPARK_JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print(spark.sparkContext.parallelize(range(4), 2).map(lambda x: __import__("six").PY3).collect())
spark.stop()
"""


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    return timed_run(command, env, cwd)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spark-runs", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--quick", action="store_true", help="two runs, no Spark")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.no_spark = 2, True

    tmp = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    env = dict(os.environ)
    # Byte-code caching on, as on a user's machine (some shells turn it off).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(MLENV_WORKSPACE=f"sqlite:///{tmp / 'ws.db'}", MLENV_RUNS_DIR=str(tmp / "runs"))
    src = tmp / "src"
    src.mkdir()
    (src / "trivial.py").write_text(TRIVIAL)
    (src / "works.py").write_text(WORKS)
    (src / "spark_job.py").write_text(SPARK_JOB)
    (tmp / "mlenv.yml").write_text(DEFINITION)
    mlenv = str(Path(sys.executable).parent / "mlenv")
    docker_cli = env.get("MLENV_DOCKER_CLI") or "docker"

    def submit(script: str, compute: str) -> list[str]:
        return [mlenv, "run", "submit", str(src / script), "--env", str(tmp / "mlenv.yml"),
                "--compute", compute]  # fmt: skip

    # Warm up: register, build or reuse, pull, make the virtualenv, write byte-code.
    done = subprocess.run(
        [*submit("trivial.py", "docker"), "--json"], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    image = json.loads(done.stdout)["environment"]["image"]
    env_hash = json.loads(done.stdout)["environment"]["hash"]
    timed(submit("trivial.py", "local"), env)
    cache = Path(env.get("MLENV_CACHE_DIR") or Path.home() / ".cache" / "pulumi-mlenv")
    python = str(cache / "venvs" / env_hash / "bin" / "python")

    rows: list[Row] = []
    ours, base = pair(
        max(args.runs, 10), [mlenv, "run", "list"], [sys.executable, "-c", "pass"], env
    )
    rows.append(Row("CLI start: mlenv run list (vs python -c pass)", ours, base, 12))
    docker_run = [
        docker_cli, "run", "--rm", "--network", "host", "-v", f"{src}:/mlenv/source:ro",
        "-w", "/mlenv/source", "-e", "GREETING=hello", image, "python", "trivial.py",
    ]  # fmt: skip
    ours, base = pair(args.runs, submit("trivial.py", "docker"), docker_run, env)
    rows.append(Row("docker, trivial script (vs docker run)", ours, base, 1.3))
    ours, base = pair(max(2, args.runs // 2), submit("works.py", "docker"),
                      [*docker_run[:-1], "works.py"], env)  # fmt: skip
    rows.append(Row("docker, 2-second script (vs docker run)", ours, base, 1.3))
    ours, base = pair(args.runs, submit("trivial.py", "local"), [python, "trivial.py"], env, src)
    rows.append(Row("local, trivial script (vs venv python)", ours, base, 12))
    ours, base = pair(max(2, args.runs // 2), submit("works.py", "local"), [python, "works.py"],
                      env, src)  # fmt: skip
    rows.append(Row("local, 2-second script (vs venv python)", ours, base, 1.5))

    pack_line = ""
    if not args.no_spark:
        subprocess.run([str(ROOT / "scripts" / "setup-spark.sh")], env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([mlenv, "compute", "add", "spark-local", "--kind", "spark", "--url", MASTER],
                       env=env, check=True, capture_output=True)  # fmt: skip
        timed(submit("spark_job.py", "spark-local"), env)  # warm: packs once
        archive = cache / "spark" / "archives" / f"{env_hash}.tar.gz"
        spark_home = sorted(cache.glob("spark/pyspark-*/lib/python*/site-packages/pyspark"))[-1]
        plain = [
            str(spark_home / "bin" / "spark-submit"), "--master", MASTER,
            "--archives", f"{archive}#env",
            "--conf", "spark.pyspark.python=./env/bin/python",
            "--conf", f"spark.pyspark.driver.python={python}",
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
            str(src / "spark_job.py"),
        ]  # fmt: skip
        spark_env = {**env, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(spark_home)}
        ours, base = pair(args.spark_runs, submit("spark_job.py", "spark-local"), plain, spark_env)
        rows.append(Row("spark, trivial job (vs plain spark-submit)", ours, base, 1.2))
        # Packing a first run's environment: the same virtualenv, a fresh cache.
        sys.path.insert(0, str(ROOT / "provider"))
        from pulumi_mlenv.imaging.pack import pack_environment

        start = time.perf_counter()
        packed, _ = pack_environment(Path(python).parent.parent, tmp / "fresh-cache", env_hash)
        seconds = time.perf_counter() - start
        size = packed.stat().st_size / 1e6
        pack_line = f"packing a first run's environment (six, {size:.1f} MB): {seconds:.2f} s"

    print_table("Runs: mlenv vs the same thing by hand", rows)
    if pack_line:
        print(pack_line)
    print(f"(medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
