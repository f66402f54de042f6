"""Deployments and endpoints from the command line, on the real engine,
BuildKit, registry, HAProxy and a real Pulumi engine: `mlenv deployment
create`, `mlenv endpoint create` and `mlenv endpoint traffic NAME blue=90
green=10` go through the resources' service calls, are recorded in the same
workspace, and a Pulumi program that manages the endpoint sees weights set
from the CLI as drift in its next preview."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from support.services import fresh_settings

pytestmark = pytest.mark.docker

SCORE = """import os

def init():
    global NAME
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "k.txt")) as f:
        NAME = f.read().strip()

def run(raw_data):
    return {"k": NAME}
"""
PROGRAM = """
import json

import pulumi

from pulumi_mlenv.resources import Endpoint


class Served:  # what Endpoint reads of a Deployment: its name and address
    def __init__(self, name, scoring_uri):
        self.name, self.scoring_uri = name, scoring_uri


cfg = pulumi.Config()
listed = json.loads(cfg.require("behind"))
behind = {Served(d["name"], d["scoring_uri"]): d["weight"] for d in listed}
endpoint = Endpoint("scoring", name=cfg.require("endpoint"), deployments=behind,
                    workspace=cfg.require("workspace"))
pulumi.export("scoring_uri", endpoint.scoring_uri)
"""


class Mlenv:
    def __init__(self, root: Path) -> None:
        settings = fresh_settings(root)
        self.workspace = f"sqlite:///{root / 'ws.db'}"
        self.env = {
            **os.environ,
            "MLENV_WORKSPACE": self.workspace,
            "MLENV_REGISTRY": settings.registry,
            "MLENV_CACHE_DIR": str(settings.cache_dir),
        }
        self.exe = str(Path(sys.executable).parent / "mlenv")

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.exe, *args], env=self.env, capture_output=True, text=True, check=False
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)


def _shares(uri: str, n: int = 40) -> Counter[str]:
    return Counter(requests.post(uri, json={}, timeout=30).json()["k"] for _ in range(n))


def test_deployments_endpoints_and_traffic_from_the_cli_are_what_pulumi_sees(
    machine: dict[str, str], proxy: str, tmp_path: Path
) -> None:
    from pulumi import automation as auto

    mlenv = Mlenv(tmp_path)
    (tmp_path / "env.yml").write_text(
        "name: tiny-serve\npython:\n  conda:\n    dependencies:\n"
        "      - python=3.11\n      - pip:\n          - pyyaml==6.0.2\n"
    )
    assert mlenv.json("env", "build", str(tmp_path / "env.yml"))["version"] == "1"
    for name in ("blue", "green"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "k.txt").write_text(name)
        assert mlenv.json("model", "register", name, str(tmp_path / name))["version"] == "1"
    (tmp_path / "score.py").write_text(SCORE)
    endpoint = f"scoring-{uuid.uuid4().hex[:6]}"
    created = {}
    try:
        for name in ("blue", "green"):
            created[name] = mlenv.json(
                "deployment", "create", name, "--model", f"{name}:1",
                "--environment", "tiny-serve:1", "--entry-script", str(tmp_path / "score.py"),
            )  # fmt: skip
            assert created[name]["status"] == "healthy"
        listed = {d["name"]: d for d in mlenv.json("deployment", "list")}
        assert set(listed) == {"blue", "green"}

        shown = mlenv.json("endpoint", "create", endpoint, "blue=100")
        assert [d["weight"] for d in shown["deployments"]] == [100]
        assert _shares(shown["scoring_uri"]) == {"blue": 40}
        moved = mlenv.json("endpoint", "traffic", endpoint, "blue=50", "green=50")
        assert {d["name"]: d["weight"] for d in moved["deployments"]} == {"blue": 50, "green": 50}
        assert moved["scoring_uri"] == shown["scoring_uri"]  # the same address
        shares = _shares(moved["scoring_uri"])
        assert set(shares) == {"blue", "green"}
        bad = mlenv("endpoint", "traffic", endpoint, "blue=lots")
        assert bad.returncode == 2
        assert bad.stderr.splitlines()[:2] == [
            "error: cannot change the traffic (1 problem):",
            "  blue=lots: not DEPLOYMENT=WEIGHT; e.g. blue=90 green=10 (whole numbers)",
        ]

        # A Pulumi program takes over the endpoint at 90/10 ...
        work = tmp_path / "program"
        work.mkdir()
        (work / "Pulumi.yaml").write_text("name: mlenv-cli-drift\nruntime: python\n")
        (work / "__main__.py").write_text(PROGRAM)
        (tmp_path / "backend").mkdir()
        behind = [
            {"name": n, "scoring_uri": created[n]["scoring_uri"], "weight": w}
            for n, w in (("blue", 90), ("green", 10))
        ]
        stack = auto.create_or_select_stack(
            stack_name="test",
            work_dir=str(work),
            opts=auto.LocalWorkspaceOptions(
                env_vars={"PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}"}
            ),
        )
        for key, value in {
            "behind": json.dumps(behind), "endpoint": endpoint, "workspace": mlenv.workspace,
        }.items():  # fmt: skip
            stack.set_config(key, auto.ConfigValue(value))
        try:
            stack.up()
            assert stack.preview().change_summary.get("update", 0) == 0
            # ... then someone moves traffic from the CLI: the preview says so.
            mlenv.json("endpoint", "traffic", endpoint, "blue=20", "green=80")
            said: list[str] = []
            preview = stack.preview(
                on_event=lambda e: e.diagnostic_event and said.append(e.diagnostic_event.message)
            )
            assert preview.change_summary.get("update") == 1
            words = "traffic changed outside Pulumi; back to the program's: "
            assert any(words + "blue 20 -> 90, green 80 -> 10" in m for m in said), said
            stack.up()
            listed_endpoints = {e["name"]: e for e in mlenv.json("endpoint", "list")}
            weights = {d["name"]: d["weight"] for d in listed_endpoints[endpoint]["deployments"]}
            assert weights == {"blue": 90, "green": 10}
        finally:
            stack.destroy()
        assert endpoint not in {e["name"] for e in mlenv.json("endpoint", "list")}
    finally:
        for name in created:
            done = mlenv("deployment", "delete", name, "--json")
            assert done.returncode == 0, done.stderr
    assert mlenv.json("deployment", "list") == []
    gone = mlenv("deployment", "delete", "blue")
    assert gone.returncode == 1
    assert (
        gone.stderr.strip() == "error: no deployment blue in the workspace (mlenv deployment list)"
    )
