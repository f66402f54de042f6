"""Stacks driven through the Automation API on a temporary local backend,
with the real engine, BuildKit and registry. Each module gets its own
registry namespace, so its first build is a real cold build."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
for spec in json.loads(cfg.require("envs")):
    resource = spec.pop("resource")
    env = Environment(resource, workspace=workspace, registry=registry, **spec)
    pulumi.export(resource, {"hash": env.hash, "image": env.image, "built": env.built,
                             "version": env.version, "kind": env.kind})
"""


@dataclass
class Program:
    """A stack whose environments are given as JSON in its config."""

    stack: auto.Stack
    workspace_db: Path
    registry: str
    output: list[str] = field(default_factory=list)

    def set_envs(self, envs: list[dict[str, Any]]) -> None:
        self.stack.set_config("envs", auto.ConfigValue(json.dumps(envs)))

    def _event(self, event: auto.EngineEvent) -> None:
        # The engine passes what a dynamic provider prints as diagnostics; the
        # CLI shows them inline ("info: train: replace: ..."), the Automation
        # API only as events.
        if event.diagnostic_event:
            self.output.append(event.diagnostic_event.message)

    def preview(self) -> auto.PreviewResult:
        self.output.clear()
        return self.stack.preview(diff=True, on_output=self.output.append, on_event=self._event)

    def up(self) -> auto.UpResult:
        self.output.clear()
        return self.stack.up(on_output=self.output.append, on_event=self._event)

    @property
    def printed(self) -> str:
        return "\n".join(self.output)


def make_stack(work_dir: Path, backend: str, config: dict[str, str]) -> auto.Stack:
    stack = auto.create_or_select_stack(
        stack_name="test",
        work_dir=str(work_dir),
        opts=auto.LocalWorkspaceOptions(env_vars={"PULUMI_BACKEND_URL": backend}),
    )
    for key, value in config.items():
        stack.set_config(key, auto.ConfigValue(value))
    return stack


@pytest.fixture(scope="module")
def program(machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Program]:
    tmp = tmp_path_factory.mktemp("program")
    (tmp / "Pulumi.yaml").write_text("name: mlenv-test\nruntime: python\n")
    (tmp / "__main__.py").write_text(PROGRAM)
    backend = tmp / "backend"
    backend.mkdir()
    registry = f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}"
    db = tmp / "ws.db"
    stack = make_stack(
        tmp, f"file://{backend}", {"workspacePath": str(db), "registry": registry, "envs": "[]"}
    )
    yield Program(stack=stack, workspace_db=db, registry=registry)
    stack.destroy()


@pytest.fixture
def example(machine: dict[str, str], tmp_path: Path) -> Callable[..., Program]:
    """An example folder copied to a temporary folder, on its own backend and
    registry namespace; its workspace a SQLite file, or ``workspace_url``
    (``mlenv:workspace`` config) when given."""

    def make(name: str, workspace_url: str | None = None) -> Program:
        src = ROOT / "examples" / name
        dst = tmp_path / name
        shutil.copytree(src, dst)
        backend = tmp_path / "backend"
        backend.mkdir(exist_ok=True)
        registry = f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}"
        db = tmp_path / "ws.db"
        where = {"mlenv:workspace": workspace_url} if workspace_url else {"workspacePath": str(db)}
        stack = make_stack(dst, f"file://{backend}", {**where, "mlenv:registry": registry})
        return Program(stack=stack, workspace_db=db, registry=registry)

    return make
