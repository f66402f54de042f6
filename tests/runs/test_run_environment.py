"""One resolved run environment on every door and every target: a run from
the definition file, from NAME:VERSION and a rerun get the same variables
(a secret one from the submitting process, never from the workspace), on
local, docker and Spark; a rerun whose secret is not set says which and how."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from support.runs import MASTER, Cli

pytestmark = pytest.mark.docker

#: Reports the variables where it runs (driver and, on Spark, executors).
REPORT = """\
import json, os

NAMES = ("GREETING", "API_TOKEN", "DB_PASSWORD")


def report(_=None):
    import os
    return {n: os.environ.get(n) for n in NAMES}


result = {"driver": report(), "executors": []}
try:
    from pyspark.sql import SparkSession
except ImportError:
    SparkSession = None
if SparkSession is not None:
    spark = SparkSession.builder.getOrCreate()
    result["executors"] = spark.sparkContext.parallelize(range(2), 2).map(report).collect()
    spark.stop()
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "report.json"), "w") as out:
    json.dump(result, out)
"""


def _definition(folder: Path, name: str, password: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mlenv.yml"
    path.write_text(
        f"name: {name}\n"
        "python:\n  conda:\n    dependencies:\n      - python=3.11\n"
        "      - pip:\n          - six==1.16.0\n"
        "environment_variables:\n"
        "  GREETING: hello\n"
        "  API_TOKEN: ${env:API_TOKEN}\n"  # a reference: its value comes from the caller
        f"  DB_PASSWORD: {password}\n"  # a credential by its name: kept as a reference
    )
    return path


def _report(run: dict[str, object]) -> dict[str, object]:
    return dict(json.loads((Path(str(run["outputs"])) / "report.json").read_text()))


@pytest.mark.parametrize("compute", ["local", "docker", "spark-local"])
def test_every_door_gives_the_script_the_same_variables_and_no_secret_is_stored(
    tmp_path: Path, machine: dict[str, str], compute: str, request: pytest.FixtureRequest
) -> None:
    token, password = f"tok-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    cli = Cli(tmp_path, API_TOKEN=token)
    if compute == "spark-local":
        request.getfixturevalue("spark_cluster")
        cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    name = f"vars-{uuid.uuid4().hex[:8]}"
    env_file = _definition(tmp_path / "def", name, password)
    script = tmp_path / "src" / "report.py"
    script.parent.mkdir()
    script.write_text(REPORT)
    expected = {"GREETING": "hello", "API_TOKEN": token, "DB_PASSWORD": password}

    first = cli.json("run", "submit", str(script), "--env", str(env_file), "-c", compute, "--json")
    assert _report(first)["driver"] == expected
    if compute == "spark-local":
        assert _report(first)["executors"] == [expected, expected]
    assert sorted(first["variables"]) == ["API_TOKEN", "DB_PASSWORD", "GREETING"]

    # The workspace keeps the plain value and references, never a secret's text.
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("workspace.db*"))
    assert token.encode() not in stored and password.encode() not in stored
    assert b"${env:DB_PASSWORD}" in stored and b"hello" in stored

    # A rerun, or NAME:VERSION, without the secret in the environment: one
    # message naming the variable and how to supply it; nothing runs.
    bare = Cli(tmp_path, API_TOKEN=token)
    refused = bare("run", "rerun", first["id"])
    assert refused.returncode != 0
    assert "variable DB_PASSWORD is a secret kept as a reference" in refused.stderr
    assert "export DB_PASSWORD=..." in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(cli.runs()) == 1

    # With it exported, every door gives the same values.
    given = Cli(tmp_path, API_TOKEN=token, DB_PASSWORD=password)
    again = given.json("run", "rerun", first["id"], "--json")
    by_version = given.json(
        "run", "submit", str(script), "--env", f"{name}:1", "-c", compute, "--json"
    )
    for run in (again, by_version):
        assert _report(run)["driver"] == expected
        assert run["environment"] == first["environment"]
    if compute == "spark-local":
        assert _report(by_version)["executors"] == [expected, expected]
