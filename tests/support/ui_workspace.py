"""A workspace with one of everything the pages show, filled through the
service: two versions of an environment (the image builds are in memory:
the pages read records, never images), a run with its log and outputs, a
model registered from that run, two deployments and an endpoint over them.

Deployments and endpoints are recorded in the serving store as ``deploy``
and ``apply_endpoint`` record them, without starting a container or a
proxy: the pages read what the workspace says, not what is running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.service import models
from pulumi_mlenv.service.environments import provision, resolve
from pulumi_mlenv.service.runs import RunRequest, submit
from pulumi_mlenv.workspace import RunRecord, RunStatus, RunStore
from pulumi_mlenv.workspace.serving_store import DeploymentRecord, EndpointRecord, ServingStore
from support.fakes import FakeWorld

#: Printed by the run's script: the log page must show it (escaped).
LOG_LINE = "epoch 3 <done> & loss=0.25"
SECRET = "s3cr3t-value-never-shown"


def definition(pin: str, description: str = "training") -> dict[str, object]:
    return {
        "name": "train",
        "description": description,
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": [pin]}]}},
        "environment_variables": {"GREETING": "hello", "API_TOKEN": SECRET},
    }


@dataclass(frozen=True, slots=True)
class RunLike:
    """What ``register_from_run`` reads, from a run record."""

    record: RunRecord

    @property
    def run_id(self) -> str:
        return self.record.id

    @property
    def outputs_dir(self) -> str:
        return self.record.outputs_path

    @property
    def env_name(self) -> str:
        return self.record.env_name

    @property
    def env_version(self) -> str:
        return self.record.env_version

    @property
    def env_hash(self) -> str:
        return self.record.env_hash

    @property
    def image(self) -> str | None:
        return self.record.image

    @property
    def lock(self) -> tuple[str, ...]:
        return self.record.lock


@dataclass(frozen=True, slots=True)
class Filled:
    workspace_url: str
    settings: Settings
    run: RunRecord
    model: str
    images: tuple[str, str]


def register_versions(world: FakeWorld, settings: Settings) -> tuple[str, str]:
    from pulumi_mlenv.definition import parse_definition

    images = []
    for pin in ("six==1.16.0", "six==1.17.0"):
        spec = parse_definition(definition(pin))
        resolved = resolve(spec, settings, outside=world.outside())
        images.append(provision(resolved, settings=settings, outside=world.outside()).image)
    return images[0], images[1]


def recorded_run(
    settings: Settings, workspace_url: str, image: str, lock: tuple[str, ...]
) -> RunRecord:
    """A finished run written through the run store, with a log and an output
    (the fast tier starts no process)."""
    folder = Path(settings.runs_dir) / "a1b2c3d4e5f6"
    (folder / "outputs").mkdir(parents=True)
    (folder / "outputs" / "model.txt").write_text("trained\n")
    (folder / "output.log").write_text(f"starting\n{LOG_LINE}\n")
    from pulumi_mlenv.workspace import Workspace

    with Workspace(workspace_url) as ws:
        version = ws.get_version("train", "1")
    assert version is not None
    store = RunStore(workspace_url)
    try:
        store.add(
            RunRecord(
                id="a1b2c3d4e5f6", env_name="train", env_version="1", env_hash=version.env_hash,
                image=image, lock=lock, compute="docker", compute_kind="docker",
                compute_url="tcp://builder:pa55word@engine.example:2376", source_hash="ab" * 32,
                source_path=str(folder), script="train.py", arguments=("--epochs", "3"),
                variables=("GREETING", "API_TOKEN"), logs_path=str(folder / "output.log"),
                outputs_path=str(folder / "outputs"),
            )
        )  # fmt: skip
        store.mark_running("a1b2c3d4e5f6")
        return store.finish("a1b2c3d4e5f6", RunStatus.COMPLETED, 0)
    finally:
        store.close()


def real_run(settings: Settings, workspace_url: str, source: Path) -> RunRecord:
    """A run of ``train:1`` on this host, through ``service.runs.submit``."""
    source.mkdir(parents=True, exist_ok=True)
    (source / "train.py").write_text(
        "import os, six\n"
        f"print({LOG_LINE!r}, six.__version__, flush=True)\n"
        "with open(os.path.join(os.environ['MLENV_OUTPUTS'], 'model.txt'), 'w') as out:\n"
        "    out.write('trained\\n')\n"
    )
    request = RunRequest(
        script="train.py", environment="train:1", compute="local", source=str(source),
        arguments=("--epochs", "3"),
        # The secret's value, as the submitting process has it (the workspace
        # keeps only a reference to it).
        variables=(("GREETING", "hello"), ("API_TOKEN", SECRET)),
    )  # fmt: skip
    return submit(request, settings=settings, workspace_url=workspace_url).record


def serve_records(workspace_url: str, env_image: str) -> None:
    """Two deployments of ``iris:1`` and an endpoint sending them 90/10."""
    with ServingStore(workspace_url) as store:
        for name, port in (("blue", 41001), ("green", 41002)):
            store.put_deployment(
                DeploymentRecord(
                    instance=f"{name}-0001", name=name, model_name="iris", model_version="1",
                    env_name="train", env_version="1", image=env_image,
                    compute_url="unix:///var/run/docker.sock", port=port, container_id=None,
                    code_hash="sha256:" + "c" * 64, status="healthy",
                )
            )  # fmt: skip
        store.put_endpoint(
            EndpointRecord(
                name="scoring", port=41010, home="/nonexistent",
                backends=(("blue", "127.0.0.1:41001", 90), ("green", "127.0.0.1:41002", 10)),
            )
        )  # fmt: skip


def fill(
    world: FakeWorld, *, run_source: Path | None = None, workspace_url: str | None = None
) -> Filled:
    """Everything; ``run_source``: run the script for real on this host;
    ``workspace_url``: another workspace than the world's SQLite file."""
    url = workspace_url or world.workspace_url
    settings = world.settings(
        runs_dir=world.root / "runs", model_store=world.root / "models", workspace_url=url
    )
    images = register_versions(world, settings)
    lock = world.locks[images[0].rsplit("@", 1)[1]]
    if run_source is None:
        run = recorded_run(settings, url, images[0], lock)
    else:
        run = real_run(settings, url, run_source)
    registered = models.register_from_run(
        "iris", RunLike(run), "model.txt", settings=settings, workspace_url=url
    )
    serve_records(url, images[0])
    return Filled(url, settings, run, registered.model.label, images)
