"""Bad deployment and endpoint inputs fail `pulumi preview` on the real
engine, naming the input, before anything is built, registered or started.
(The engine stops at the first failed check: one stack per case.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from .conftest import make_stack

pytestmark = pytest.mark.engine

PROGRAM = """
import pulumi
from pulumi_mlenv.resources import Deployment, Endpoint

cfg = pulumi.Config()
case = cfg.require("case")
common = dict(model="iris:1", environment="sklearn:1", workspace=cfg.require("workspace"))
if case == "no-engine":
    Deployment(case, entry_script="good.py", compute="unix:///nonexistent/docker.sock", **common)
elif case == "no-run":
    Deployment(case, entry_script="no_run.py", **common)
elif case == "busy-port":
    Deployment(case, entry_script="good.py", port=cfg.require_int("busyPort"), **common)
else:
    Endpoint(case, deployments={}, workspace=cfg.require("workspace"))
"""

CASES = [
    ("no-engine", "property compute", "docker engine unix:///nonexistent/docker.sock unreachable"),
    ("no-run", "property entry_script", "no_run.py defines no run(raw_data)"),
    ("busy-port", "property port", "already in use"),
    ("no-weights", "property deployments", "an endpoint needs at least one deployment"),
]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


@pytest.mark.parametrize(("case", "where", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_the_preview_naming_it(
    machine: dict[str, str], tmp_path: Path, busy_port: int, case: str, where: str, message: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mlenv-deploy-faults\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "good.py").write_text("def init():\n    pass\n\ndef run(raw_data):\n    return 1\n")
    (tmp_path / "no_run.py").write_text("def init():\n    pass\n")
    backend = tmp_path / "backend"
    backend.mkdir()
    config = {"workspace": f"sqlite:///{tmp_path / 'ws.db'}", "busyPort": str(busy_port)}
    stack = make_stack(tmp_path, f"file://{backend}", {**config, "case": case})
    with pytest.raises(auto.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert f"resource '{case}': {where}" in text and message in text
