"""The working folder is alike on every target: the script runs in a copy of
its source snapshot, ``./outputs`` is the run's outputs (Azure ML's
convention), and neither the user's folder nor the shared snapshot is ever
written to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulumi_mlenv.service.sources import snapshot, source_hash, working_copy
from support.runs import Cli, definition

SCRIPT = """\
import os, pathlib
pathlib.Path("outputs").mkdir(exist_ok=True)  # Azure ML scripts do this; it is already there
with open("outputs/result.txt", "w") as out:
    out.write(open("data/input.txt").read().upper())
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "also.txt"), "w") as out:
    out.write("by variable")
open("scratch.txt", "w").write("a file next to the script")
open("data/input.txt", "w").write("overwritten by the run")
print("cwd files:", sorted(os.listdir(".")))
"""


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    (source / "data" / "input.txt").write_text("hello")
    (source / "train.py").write_text(SCRIPT)
    return source


def test_a_top_level_outputs_folder_is_not_part_of_the_source(tmp_path: Path):
    source = _source(tmp_path)
    before = source_hash(source)
    (source / "outputs").mkdir()
    (source / "outputs" / "old-model.pkl").write_text("from a run on my laptop")
    (source / "data" / "outputs").mkdir()  # only the top-level one belongs to runs
    (source / "data" / "outputs" / "kept.txt").write_text("code's data")
    assert source_hash(source) != before
    (source / "data" / "outputs" / "kept.txt").unlink()
    (source / "data" / "outputs").rmdir()
    assert source_hash(source) == before


def test_the_working_copy_links_outputs_to_the_runs_outputs(tmp_path: Path):
    _, snap = snapshot(_source(tmp_path), tmp_path / "cache")
    run = tmp_path / "runs" / "r1"
    (run / "outputs").mkdir(parents=True)
    work = working_copy(snap, run)
    assert work == run / "work"
    (work / "outputs" / "model.pkl").write_text("weights")
    assert (run / "outputs" / "model.pkl").read_text() == "weights"
    assert (work / "outputs").readlink() == Path("..") / "outputs"  # resolves in a container too
    (work / "data" / "input.txt").write_text("changed")
    assert (snap / "data" / "input.txt").read_text() == "hello"


@pytest.mark.docker
@pytest.mark.parametrize("compute", ["local", "docker"])
def test_outputs_is_the_runs_outputs_and_the_source_is_never_written(
    cli: Cli, tmp_path: Path, compute: str
):
    source = _source(tmp_path)
    env_file = definition(tmp_path / "env", "workdir-env", ["six==1.16.0"])
    done = cli(
        "run", "submit", str(source / "train.py"), "--env", str(env_file),
        "--compute", compute, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout)
    outputs = Path(run["outputs"])
    assert (outputs / "result.txt").read_text() == "HELLO"
    assert (outputs / "also.txt").read_text() == "by variable"
    # The user's folder and the snapshot are as they were.
    assert sorted(p.name for p in source.iterdir()) == ["data", "train.py"]
    assert (source / "data" / "input.txt").read_text() == "hello"
    snap = Path(run["source_path"])
    assert sorted(p.name for p in snap.iterdir()) == ["data", "train.py"]
    assert (snap / "data" / "input.txt").read_text() == "hello"
