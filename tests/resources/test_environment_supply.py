"""The Environment resource's supply-chain face through the real engine, on
a registry of the test's own (a free loopback port): `pulumi up` exports
the image's SBOM and provenance referrers by digest, and `pulumi preview`
of a changed pin says how the lock will change before anything is built."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.auth_registry import plain_registry

from .conftest import Program, make_stack

pytestmark = pytest.mark.engine

PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
env = Environment("train", workspace=workspace, registry=registry,
                  python={"conda": {"dependencies": ["python=3.11",
                                                     {"pip": json.loads(cfg.require("pip"))}]}})
pulumi.export("image", env.image)
pulumi.export("sbom", env.sbom)
pulumi.export("provenance", env.provenance)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def program(machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Program]:
    tmp = tmp_path_factory.mktemp("supply-program")
    (tmp / "Pulumi.yaml").write_text("name: mlenv-supply-test\nruntime: python\n")
    (tmp / "__main__.py").write_text(PROGRAM)
    (tmp / "backend").mkdir()
    (tmp / "registry").mkdir()
    with plain_registry(tmp / "registry", _free_port()) as address:
        db = tmp / "ws.db"
        stack = make_stack(
            tmp,
            f"file://{tmp / 'backend'}",
            {"workspacePath": str(db), "registry": address, "pip": json.dumps(["six==1.16.0"])},
        )
        yield Program(stack=stack, workspace_db=db, registry=address)
        stack.destroy()


def test_up_exports_sbom_and_provenance_by_digest(program: Program) -> None:
    outs = {k: v.value for k, v in program.up().outputs.items()}
    image, sbom, provenance = outs["image"], outs["sbom"], outs["provenance"]
    repository = image.split("/", 1)[1].split("@")[0]
    for ref, kind in (
        (sbom, "application/vnd.cyclonedx+json"),
        (provenance, "application/vnd.in-toto+json"),
    ):
        assert ref.startswith(f"{program.registry}/{repository}@sha256:")
        manifest = requests.get(
            f"http://{program.registry}/v2/{repository}/manifests/{ref.split('@')[1]}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=10,
        ).json()
        assert manifest["artifactType"] == kind
        assert manifest["subject"]["digest"] == image.split("@")[1]


def test_preview_of_a_new_pin_shows_the_lock_change(program: Program, tmp_path: Path) -> None:
    # Its own starting point (an up of the first pin: a cache hit when the
    # test above ran), so the test does not depend on the order tests run in.
    program.stack.set_config("pip", auto_value(["six==1.16.0"]))
    program.up()
    program.stack.set_config("pip", auto_value(["six==1.17.0", "idna==3.7"]))
    program.preview()
    assert "lock: six 1.16.0 -> 1.17.0 (pinned)" in program.printed
    assert "lock: + idna 3.7.0 (pinned)" in program.printed


def auto_value(pip: list[str]) -> object:
    from pulumi import automation as auto

    return auto.ConfigValue(json.dumps(pip))
