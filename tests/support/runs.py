"""What the run tests share: the ``mlenv`` CLI in a workspace and run folder
of the test's own, definitions of one tiny pure-Python package, the probe
script, the Spark master's applications."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the clone
MASTER = "spark://127.0.0.1:7077"

#: Reports the versions of the packages named in its arguments, where it
#: runs: on the host, in a container, or on Spark's driver and, inside a
#: ``map``, on its executors (importing each package there).
PROBE = """\
import json, os, sys

NAMES = sys.argv[1:]


def report(_=None):
    import importlib, importlib.metadata as md, os, sys
    for name in NAMES:
        importlib.import_module(name)
    return {
        "versions": {n: md.version(n) for n in NAMES},
        "greeting": os.environ.get("GREETING"),
        "python": sys.executable,
    }


result = {"driver": report(), "executors": []}
try:
    from pyspark.sql import SparkSession
except ImportError:
    SparkSession = None
if SparkSession is not None:
    spark = SparkSession.builder.getOrCreate()
    result["executors"] = spark.sparkContext.parallelize(range(2), 2).map(report).collect()
    spark.stop()
print("PROBE " + json.dumps(result, sort_keys=True), flush=True)
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "probe.json"), "w") as out:
    json.dump(result, out)
"""


def definition(folder: Path, name: str, pins: list[str], spark: list[str] = ()) -> Path:  # type: ignore[assignment]
    """An mlenv.yml with ``pins`` and the variable GREETING=hello."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"name: {name}",
        "python:",
        "  conda:",
        "    dependencies:",
        "      - python=3.11",
        "      - pip:",
        *(f"          - {p}" for p in pins),
        "environment_variables:",
        "  GREETING: hello",
    ]
    if spark:
        lines += ["spark:", "  packages:", *(f"    - {c}" for c in spark)]
    path = folder / "mlenv.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Cli:
    """``mlenv`` as a user runs it, with ``MLENV_WORKSPACE`` and
    ``MLENV_RUNS_DIR`` of this test's own."""

    def __init__(self, tmp: Path, **extra: str) -> None:
        self.env = {
            **os.environ,
            "MLENV_WORKSPACE": f"sqlite:///{tmp / 'workspace.db'}",
            "MLENV_RUNS_DIR": str(tmp / "runs"),
            **extra,
        }
        self.mlenv = str(Path(sys.executable).parent / "mlenv")

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.mlenv, *args], env=self.env, capture_output=True, text=True, check=False
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.mlenv, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str) -> Any:
        done = self(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def runs(self) -> list[dict[str, Any]]:
        return list(self.json("run", "list", "--json"))


def spark_home() -> str:
    """The pyspark that setup-spark.sh installed (its folder has bin/spark-submit)."""
    cache = Path(os.environ["MLENV_CACHE_DIR"])
    found = sorted(cache.glob("spark/pyspark-*/lib/python*/site-packages/pyspark"))
    assert found, "scripts/setup-spark.sh did not install pyspark"
    return str(found[-1])


def spark_apps(state: str) -> list[dict[str, Any]]:
    """The master's applications in ``activeapps`` or ``completedapps``."""
    import requests

    port = os.environ.get("MLENV_SPARK_MASTER_UI_PORT", "8480")
    return list(requests.get(f"http://127.0.0.1:{port}/json/", timeout=10).json()[state])
