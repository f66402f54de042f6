"""Deployments on the real engine, BuildKit and registry: a small
environment (one pure-Python package) so that the inference image builds in
seconds; the scikit-learn scenario is the example's (tests/resources)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests

from pulumi_mlenv.compute.docker_target import SERVICE_LABEL
from pulumi_mlenv.compute.tcp_ports import port_in_use
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import environments as envs
from pulumi_mlenv.service import models
from pulumi_mlenv.workspace.serving_store import ServingStore
from support.services import fresh_settings

pytestmark = pytest.mark.docker

SCORE = """import json, os

def init():
    global K
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "k.txt")) as f:
        K = f.read().strip()

def run(raw_data):
    return {"k": K, "echo": json.loads(raw_data)}
"""
BROKEN_INIT = """def init():
    raise RuntimeError("model file is corrupt")

def run(raw_data):
    return 1
"""


@dataclass
class Served:
    settings: Settings
    workspace: str
    env: str
    model: str
    root: Path

    def spec(self, name: str, script: str, environment: str | None = None) -> deps.DeploymentSpec:
        path = self.root / f"{name}.py"
        path.write_text(script)
        return deps.DeploymentSpec(
            name=name,
            model=self.model,
            environment=environment or self.env,
            entry_script=str(path),
            compute_url=self.settings.docker_host,
            timeout=120,
        )


@pytest.fixture(scope="module")
def served(machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    settings = fresh_settings(root)
    ws = f"sqlite:///{root / 'ws.db'}"
    spec = envs.definition_from_inputs(
        {
            "name": "tiny",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": ["pyyaml==6.0.2"]}]}},
        }
    )
    env = envs.provision(envs.resolve(spec, settings), settings=settings, workspace_url=ws)
    (root / "model").mkdir()
    (root / "model" / "k.txt").write_text("42\n")
    model = models.register_model("k", root / "model", settings=settings, workspace_url=ws)
    yield Served(settings, ws, f"tiny:{env.version}", model.model.label, root)


def _containers(name: str) -> list[str]:
    client = docker.from_env()
    try:
        # Low-level: other tests' containers may vanish while listed.
        found = client.api.containers(all=True, filters={"label": SERVICE_LABEL})
        names = [str(c["Names"][0]).lstrip("/") for c in found]
        return [n for n in names if n.startswith(f"mlenv-{name}-")]
    finally:
        client.close()


def test_a_second_deployment_reuses_the_image_and_undeploy_frees_everything(
    served: Served,
) -> None:
    first = deps.deploy(
        served.spec("reuse", SCORE), settings=served.settings, workspace_url=served.workspace
    )
    second = deps.deploy(
        served.spec("reuse", SCORE), settings=served.settings, workspace_url=served.workspace
    )
    try:
        assert first.built and not second.built
        assert first.image == second.image and first.port != second.port
        for d in (first, second):
            answer = requests.post(d.scoring_uri, json={"x": 1}, timeout=30).json()
            assert answer == {"k": "42", "echo": {"x": 1}}
        assert (first.env_name, first.model_version) == ("tiny", "1")
        assert len(_containers("reuse")) == 2
    finally:
        for d in (first, second):
            assert deps.undeploy(
                d.instance,
                container_id=d.container_id,
                compute_url=served.settings.docker_host,
                workspace_url=served.workspace,
            )
    assert _containers("reuse") == []
    assert not port_in_use(first.port) and not port_in_use(second.port)
    assert ServingStore(served.workspace).list_deployments("reuse") == []


def test_an_init_that_raises_fails_with_the_log_tail_and_leaves_nothing(served: Served) -> None:
    with pytest.raises(MlenvError) as err:
        deps.deploy(
            served.spec("broken", BROKEN_INIT),
            settings=served.settings,
            workspace_url=served.workspace,
        )
    text = str(err.value)
    assert "deployment broken" in text and "did init() raise?" in text
    assert "RuntimeError: model file is corrupt" in text  # from the server's own log
    assert _containers("broken") == []
    assert ServingStore(served.workspace).list_deployments("broken") == []


def test_a_container_that_dies_is_unhealthy(served: Served) -> None:
    d = deps.deploy(
        served.spec("dies", SCORE), settings=served.settings, workspace_url=served.workspace
    )
    health = {
        "container_id": d.container_id,
        "compute_url": served.settings.docker_host,
        "port": d.port,
        "workspace_url": served.workspace,
    }
    assert deps.deployment_health(d.instance, **health) == "healthy"  # type: ignore[arg-type]
    client = docker.from_env()
    client.containers.get(d.container_id).kill()
    client.close()
    assert deps.deployment_health(d.instance, **health) == "unhealthy"  # type: ignore[arg-type]
    assert ServingStore(served.workspace).get_deployment(d.instance).status == "unhealthy"  # type: ignore[union-attr]
    deps.undeploy(
        d.instance,
        container_id=d.container_id,
        compute_url=served.settings.docker_host,
        workspace_url=served.workspace,
    )
    assert _containers("dies") == []


def test_a_user_managed_environment_without_the_server_is_refused(served: Served) -> None:
    spec = envs.definition_from_inputs(
        {"name": "bare", "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"}}
    )
    env = envs.provision(
        envs.resolve(spec, served.settings),
        settings=served.settings,
        workspace_url=served.workspace,
    )
    with pytest.raises(SpecError) as err:
        deps.deploy(
            served.spec("bare", SCORE, environment=f"bare:{env.version}"),
            settings=served.settings,
            workspace_url=served.workspace,
        )
    problem = err.value.problems[0]
    assert problem.path == "environment"
    assert "does not contain the package azureml-inference-server-http" in str(problem)
    assert _containers("bare") == []
