"""A Spark run on the real cluster of `make spark`: what streams is the
script's lines and warnings, not Spark's INFO chatter; a failure is one
line plus the log's path, and the log keeps everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.runs import MASTER, Cli, definition

pytestmark = pytest.mark.docker

SCRIPT = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("rows:", spark.range(3).count(), flush=True)
raise ValueError("bad input")
"""


def test_a_failed_spark_run_says_one_line_and_streams_no_chatter(
    cli: Cli, tmp_path: Path, spark_cluster: str
) -> None:
    assert cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER).returncode == 0
    env_file = definition(tmp_path / "env", "spark-output-env", ["six==1.16.0"])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "job.py").write_text(SCRIPT)
    done = cli(
        "run", "submit", str(tmp_path / "src" / "job.py"), "--env", str(env_file),
        "--compute", "spark-local",
    )  # fmt: skip
    assert done.returncode != 0
    assert "rows: 3" in done.stdout
    assert "ValueError: bad input" in done.stdout  # the script's own traceback
    assert " INFO " not in done.stdout and "\tat org.apache" not in done.stdout
    [run] = cli.runs()
    said = [line for line in done.stderr.splitlines() if line.startswith(f"run {run['id']}")]
    assert said == [
        f"run {run['id']} failed with exit code {run['exit_code']}: ValueError: bad input;"
        f" full log: {run['logs']}"
    ]
    log = Path(run["logs"]).read_text()
    assert " INFO " in log and "rows: 3" in log  # the log keeps all of it
