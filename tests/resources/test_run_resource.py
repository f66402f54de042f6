"""The Run resource through the real engine: it runs on create, runs again
when the arguments, the source or the environment change (the preview says
which, in words), and a failing script fails `pulumi up` with the end of
its log while the failed run stays recorded."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from pulumi_mlenv.workspace import RunStore

from .conftest import Program, make_stack

pytestmark = [pytest.mark.engine, pytest.mark.docker]

PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Run, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
env = Environment(
    "train-env",
    python={"conda": {"dependencies": ["python=3.11", {"pip": json.loads(cfg.require("pins"))}]}},
    environment_variables={"GREETING": "hello"},
    workspace=workspace,
    registry=registry,
)
run = Run(
    "train",
    script="train.py",
    source=cfg.require("source"),
    arguments=json.loads(cfg.require("args")),
    environment=env,
    compute="docker",
    workspace=workspace,
)
pulumi.export("env_image", env.image)
pulumi.export("run", {"id": run.run_id, "status": run.status, "exit_code": run.exit_code,
                      "outputs": run.outputs, "image": run.image})
"""

TRAIN = """\
import os, sys, six
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "result.txt"), "w") as out:
    out.write(f"{six.__version__} {os.environ['GREETING']} {sys.argv[1:]}")
print("trained", sys.argv[1:])
"""


@pytest.fixture(scope="module")
def run_program(
    machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Program, Path]]:
    tmp = tmp_path_factory.mktemp("run-program")
    (tmp / "Pulumi.yaml").write_text("name: mlenv-run-test\nruntime: python\n")
    (tmp / "__main__.py").write_text(PROGRAM)
    source = tmp / "src"
    source.mkdir()
    (source / "train.py").write_text(TRAIN)
    backend = tmp / "backend"
    backend.mkdir()
    registry = f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}"
    db = tmp / "ws.db"
    config = {
        "workspacePath": str(db),
        "registry": registry,
        "source": str(source),
        "pins": json.dumps(["six==1.16.0"]),
        "args": json.dumps(["--epochs", "1"]),
    }
    stack = make_stack(tmp, f"file://{backend}", config)
    yield Program(stack=stack, workspace_db=db, registry=registry), source
    stack.destroy()


def _run(up: auto.UpResult) -> dict[str, Any]:
    return dict(up.outputs["run"].value)


def test_a_run_goes_up_and_runs_again_only_when_its_inputs_change(
    run_program: tuple[Program, Path],
):
    program, source = run_program
    first = _run(program.up())
    assert (first["status"], first["exit_code"]) == ("completed", 0)
    assert Path(first["outputs"], "result.txt").read_text() == "1.16.0 hello ['--epochs', '1']"
    assert first["image"] == program.stack.outputs()["env_image"].value
    # Nothing changed: nothing runs.
    assert program.preview().change_summary.get("replace", 0) == 0
    assert _run(program.up())["id"] == first["id"]
    # New arguments: a new run, said in words.
    program.stack.set_config("args", auto.ConfigValue(json.dumps(["--epochs", "2"])))
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert "train: runs again: arguments changed: ['--epochs', '1'] -> ['--epochs', '2']" in (
        program.printed
    )
    second = _run(program.up())
    assert second["id"] != first["id"]
    # The source's content changes: a new run; the environment changes: a new run.
    (source / "notes.txt").write_text("data v2\n")
    program.preview()
    assert "train: runs again: source changed: content hash" in program.printed
    program.stack.set_config("pins", auto.ConfigValue(json.dumps(["six==1.15.0"])))
    program.preview()
    assert "train: runs again: environment changed: hash" in program.printed
    program.stack.set_config("pins", auto.ConfigValue(json.dumps(["six==1.16.0"])))
    (source / "notes.txt").unlink()


def test_a_failing_script_fails_up_with_its_log_tail_and_stays_recorded(
    run_program: tuple[Program, Path],
):
    program, source = run_program
    (source / "train.py").write_text(
        "import sys\nprint('loading data')\nprint('bad shape', file=sys.stderr)\nsys.exit(3)\n"
    )
    with pytest.raises(auto.CommandError) as info:
        program.up()
    text = str(info.value) + program.printed
    assert "failed with exit code 3" in text and "bad shape" in text
    store = RunStore(str(program.workspace_db))
    latest = store.list(limit=1)[0]
    store.close()
    assert (latest.status.value, latest.exit_code) == ("failed", 3)
    (source / "train.py").write_text(TRAIN)
    assert _run(program.up())["status"] == "completed"
