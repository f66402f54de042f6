"""A Run resource on a Ray target (a ComputeTarget of kind ``ray``) through
the real engine: moving the run from the host to the cluster is said in the
preview, the run happens on the cluster with the environment's packages and
variables, and nothing runs again when nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from pulumi_mlenv.workspace import RunStore

from .conftest import Program, make_stack

#: The same xdist worker as the other tests on the shared cluster (one of
#: them kills its worker node).
pytestmark = [pytest.mark.engine, pytest.mark.docker, pytest.mark.xdist_group("ray-cluster")]

PROGRAM = """
import pulumi

from pulumi_mlenv.resources import ComputeTarget, ContainerRegistry, Environment, Run, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
env = Environment(
    "train-env",
    python={"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.16.0"]}]}},
    environment_variables={"GREETING": "hello"},
    workspace=workspace,
    registry=registry,
)
cluster = ComputeTarget("ray-test", kind="ray", url=cfg.require("rayUrl"), workspace=workspace)
run = Run(
    "train",
    script="train.py",
    source=cfg.require("source"),
    environment=env,
    compute=cluster if cfg.require("compute") == "ray" else "local",
    workspace=workspace,
    opts=pulumi.ResourceOptions(depends_on=[cluster]),
)
pulumi.export("run", {"id": run.run_id, "status": run.status, "outputs": run.outputs})
"""

TRAIN = """\
import os

import ray


@ray.remote
def greet():
    import os, six
    return f"{six.__version__} {os.environ['GREETING']}"


ray.init()
with open(os.path.join(os.environ["MLENV_OUTPUTS"], "result.txt"), "w") as out:
    out.write(ray.get(greet.remote(), timeout=300))
"""


@pytest.fixture(scope="module")
def ray_program(
    machine: dict[str, str], ray_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    tmp = tmp_path_factory.mktemp("ray-run-program")
    (tmp / "Pulumi.yaml").write_text("name: mlenv-ray-run-test\nruntime: python\n")
    (tmp / "__main__.py").write_text(PROGRAM)
    source = tmp / "src"
    source.mkdir()
    (source / "train.py").write_text("print('on the host')\n")
    backend = tmp / "backend"
    backend.mkdir()
    config = {
        "workspacePath": str(tmp / "ws.db"),
        "registry": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
        "source": str(source),
        "rayUrl": ray_cluster,
        "compute": "local",
    }
    stack = make_stack(tmp, f"file://{backend}", config)
    yield Program(stack=stack, workspace_db=tmp / "ws.db", registry=config["registry"])
    stack.destroy()


def test_a_run_moved_to_a_ray_cluster_says_so_and_runs_there(ray_program: Program):
    program = ray_program
    first = dict(program.up().outputs["run"].value)
    assert first["status"] == "completed"
    source = Path(program.stack.get_config("source").value)
    (source / "train.py").write_text(TRAIN)
    program.stack.set_config("compute", auto.ConfigValue("ray"))
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert "train: runs again: compute changed: local -> ray-test" in program.printed
    second = dict(program.up().outputs["run"].value)
    assert second["status"] == "completed" and second["id"] != first["id"]
    assert Path(second["outputs"], "result.txt").read_text() == "1.16.0 hello"
    store = RunStore(str(program.workspace_db))
    try:
        record = store.get(second["id"])
    finally:
        store.close()
    assert (record.compute, record.compute_kind) == ("ray-test", "ray")
    assert record.details["ray_job_id"] == f"mlenv-{record.id}"
    # Nothing changed: nothing runs.
    assert program.preview().change_summary.get("replace", 0) == 0
