"""Fixtures of the run tests: the CLI in a folder of the test's own, the
probe script, and the Spark cluster that ``scripts/setup-spark.sh`` starts."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.runs import MASTER, PROBE, ROOT, Cli


@pytest.fixture
def cli(tmp_path: Path, machine: dict[str, str]) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "probe.py").write_text(PROBE)
    return source / "probe.py"


@pytest.fixture(scope="session")
def spark_cluster(machine: dict[str, str]) -> Iterator[str]:
    """The Spark standalone cluster of ``make spark`` (started when missing)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-spark.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield MASTER
