"""A registry that requires a login: the ContainerRegistry's credentials
(secret inputs) reach the existence checks and BuildKit's push, and never
reach state, outputs or logs in plain text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pulumi import automation as auto

from support.auth_registry import Login, auth_registry
from support.waiting import free_port

from .conftest import make_stack

PROGRAM = """
import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry(
    "private",
    address=cfg.require("address"),
    username=cfg.get("username"),
    password=cfg.get_secret("password"),
)
env = Environment(
    "private-env",
    python={"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.17.0"]}]}},
    workspace=workspace,
    registry=registry,
)
pulumi.export("image", env.image)
"""


@pytest.fixture(scope="module")
def login(machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Login]:
    # A port the OS gives (a fixed one collided with another registry on the
    # host); BuildKit pushes to any loopback registry over plain HTTP.
    with auth_registry(tmp_path_factory.mktemp("private-registry"), free_port()) as running:
        yield running


def test_a_private_registry_gets_its_login_and_keeps_it_secret(
    login: Login, tmp_path: Path
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mlenv-private\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    backend = tmp_path / "backend"
    backend.mkdir()
    stack = make_stack(
        tmp_path,
        f"file://{backend}",
        {"workspacePath": str(tmp_path / "ws.db"), "address": f"{login.address}/team"},
    )

    # Without the login the push is refused, and nothing is registered.
    with pytest.raises(auto.CommandError) as err:
        stack.up()
    assert "none were given" in str(err.value)
    assert login.address in str(err.value)

    stack.set_config("username", auto.ConfigValue(login.username))
    stack.set_config("password", auto.ConfigValue(login.password, secret=True))
    printed: list[str] = []
    image = stack.up(on_output=printed.append).outputs["image"].value
    assert image.startswith(f"{login.address}/team/mlenv/env@sha256:")

    repository, digest = image.split("/", 1)[1].split("@")
    url = f"http://{login.address}/v2/{repository}/manifests/{digest}"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    assert requests.head(url, headers=accept, timeout=10).status_code == 401
    authed = requests.head(url, headers=accept, auth=(login.username, login.password), timeout=10)
    assert authed.status_code == 200

    # A second environment with the same hash is found in the private registry.
    assert set(stack.preview().change_summary) == {"same"}

    for state in backend.rglob("*.json"):
        assert login.password not in state.read_text(), state
    assert login.password not in "\n".join(printed)
    assert login.password not in json.dumps(stack.outputs(), default=str)
    stack.destroy()
