"""ContainerRegistry, ComputeTarget, provider-wide `mlenv:*` settings, forced
rebuilds (R18) and refresh, through the real engine."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi import automation as auto

from .conftest import Program, make_stack

PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import ComputeTarget, ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
for name, spec in json.loads(cfg.get("registries") or "{}").items():
    ContainerRegistry(name, **spec)
for name, spec in json.loads(cfg.get("targets") or "{}").items():
    ComputeTarget(name, workspace=workspace, **spec)
for name, spec in json.loads(cfg.get("envs") or "{}").items():
    if "secret_variable" in spec:  # its value: the secret config value `token`
        spec["environment_variables"] = {spec.pop("secret_variable"): cfg.require_secret("token")}
    if spec.pop("secret_index", False):  # a private index line: the secret config `indexLine`
        spec["python"]["conda"]["dependencies"][1]["pip"].insert(0, cfg.require_secret("indexLine"))
    env = Environment(name, workspace=workspace, **spec)  # registry from mlenv:registry
    pulumi.export(name, {"image": env.image, "version": env.version, "built": env.built})
"""


@pytest.fixture
def stack(machine: dict[str, str], tmp_path: Path) -> Callable[..., Program]:
    def make(**config: Any) -> Program:
        (tmp_path / "Pulumi.yaml").write_text("name: mlenv-other\nruntime: python\n")
        (tmp_path / "__main__.py").write_text(PROGRAM)
        (tmp_path / "backend").mkdir(exist_ok=True)
        registry = f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}"
        db = tmp_path / "ws.db"
        values = {"workspacePath": str(db), "mlenv:registry": registry}
        values.update({k: json.dumps(v) for k, v in config.items()})
        return Program(make_stack(tmp_path, f"file://{tmp_path / 'backend'}", values), db, registry)

    return make


def six(version: str = "1.17.0") -> dict[str, Any]:
    return {"conda": {"dependencies": ["python=3.11", {"pip": [f"six=={version}"]}]}}


def test_unreachable_registry_fails_the_preview_on_its_address(
    stack: Callable[..., Program],
) -> None:
    program = stack(registries={"gone": {"address": "127.0.0.1:1"}})
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "address: registry 127.0.0.1:1 unreachable (tried http://127.0.0.1:1/v2/)" in str(
        err.value
    )


def test_unknown_registry_role_is_refused(
    stack: Callable[..., Program], machine: dict[str, str]
) -> None:
    program = stack(registries={"r": {"address": machine["MLENV_REGISTRY"], "role": "personal"}})
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "role: 'personal' is not one of workspace, global" in str(err.value)


def test_compute_targets_are_checked_and_recorded(stack: Callable[..., Program]) -> None:
    program = stack(targets={"engine": {"kind": "docker", "url": "tcp://127.0.0.1:1"}})
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "tcp://127.0.0.1:1" in str(err.value)

    program.stack.set_config(
        "targets",
        auto.ConfigValue(json.dumps({"laptop": {"kind": "local"}, "engine": {"kind": "docker"}})),
    )
    program.up()
    with sqlite3.connect(program.workspace_db) as db:
        rows = {r[0]: r[1] for r in db.execute("select name, kind from mlenv_compute_targets")}
    assert rows == {"laptop": "local", "engine": "docker"}
    program.stack.destroy()
    with sqlite3.connect(program.workspace_db) as db:
        assert db.execute("select count(*) from mlenv_compute_targets").fetchone()[0] == 0


def test_stack_config_sets_the_registry_and_a_forced_rebuild_keeps_the_version(
    stack: Callable[..., Program],
) -> None:
    program = stack(envs={"trained": {"python": six(), "rebuild_trigger": "1"}})
    first = program.up().outputs["trained"].value
    assert first["image"].startswith(program.registry + "/mlenv/env@sha256:")
    assert first["built"] is True

    program.stack.set_config(
        "envs", auto.ConfigValue(json.dumps({"trained": {"python": six(), "rebuild_trigger": "2"}}))
    )
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert "trained: replace: rebuild_trigger changed: forced rebuild" in program.printed
    assert "versions sharing it: trained:1" in program.printed
    second = program.up().outputs["trained"].value
    assert second["built"] is True
    assert second["version"] == first["version"]
    # The old digest stays pullable (R18).
    repository = program.registry.split("/", 1)[1] + "/mlenv/env"
    old_digest = first["image"].split("@")[1]
    host = program.registry.split("/")[0]
    resp = requests.head(
        f"http://{host}/v2/{repository}/manifests/{old_digest}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.oci.image.index.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
        timeout=10,
    )
    assert resp.status_code == 200
    program.stack.destroy()


def test_refresh_finds_an_image_deleted_from_the_registry(stack: Callable[..., Program]) -> None:
    program = stack(envs={"fragile": {"python": six("1.16.0")}})
    image = program.up().outputs["fragile"].value["image"]
    host, rest = image.split("/", 1)
    repository, digest = rest.split("@")
    resp = requests.delete(f"http://{host}/v2/{repository}/manifests/{digest}", timeout=10)
    assert resp.status_code == 202

    program.output.clear()
    program.stack.refresh(on_output=program.output.append, on_event=program._event)
    assert "image no longer in its registry" in program.printed
    assert program.preview().change_summary.get("create") == 1
    again = program.up().outputs["fragile"].value
    assert again["built"] is True
    program.stack.destroy()


def test_secrets_stay_out_of_state_the_workspace_and_the_output(
    stack: Callable[..., Program], tmp_path: Path
) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    index_token = f"t0ken-{uuid.uuid4().hex}"
    # A private index with a token in its URL (PyPI ignores the login), given
    # as a secret as a program would (stack config, a secret manager).
    program = stack(
        envs={"secretive": {"python": six(), "secret_variable": "API_TOKEN", "secret_index": True}}
    )
    program.stack.set_config("token", auto.ConfigValue(value, secret=True))
    index_line = f"--extra-index-url https://ci:{index_token}@pypi.org/simple"
    program.stack.set_config("indexLine", auto.ConfigValue(index_line, secret=True))
    program.up()
    state_files = list((tmp_path / "backend").rglob("*.json"))
    assert state_files
    for state in state_files:
        text = state.read_text()
        assert value not in text and index_token not in text, state
    workspace = b"".join(p.read_bytes() for p in tmp_path.glob(program.workspace_db.name + "*"))
    assert value.encode() not in workspace and index_token.encode() not in workspace
    assert b"API_TOKEN" in workspace  # the variable's name is recorded
    assert value not in program.printed and index_token not in program.printed
    program.stack.destroy()
