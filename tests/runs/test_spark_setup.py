"""`make spark` (scripts/setup-spark.sh) is idempotent: a cluster that answers
is reused, and the compute target lands in the workspace the CLI uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.runs import MASTER, ROOT, Cli, spark_apps

pytestmark = pytest.mark.docker


def test_a_second_setup_reuses_the_cluster_and_registers_the_target(
    spark_cluster: str, tmp_path: Path
):
    cli = Cli(tmp_path)
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-spark.sh")],
        env=cli.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"spark: master {MASTER} answers with a worker" in done.stdout
    assert "starting" not in done.stdout
    targets = cli.json("compute", "list", "--json")
    assert {"name": "spark-local", "kind": "spark", "url": MASTER} in targets
    assert isinstance(spark_apps("activeapps"), list)
