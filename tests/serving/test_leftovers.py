"""Which leftovers of an interrupted deployment create are removed (fast
tier: the decisions, on a real SQLite workspace; the engine is an in-memory
stand-in holding labelled containers, because the decision is what is
tested here; tests/serving/test_rollout.py kills a real create)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pulumi_mlenv.service import leftovers
from pulumi_mlenv.workspace.serving_store import DeploymentRecord, ServingStore


class Engine:
    def __init__(self, containers: dict[str, dict[str, str]]) -> None:
        self.containers = containers

    def services(self, labels: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
        return [
            (cid, dict(have))
            for cid, have in self.containers.items()
            if all(have.get(k) == v for k, v in labels.items())
        ]

    def remove_service(self, container_id: str, *, grace: int = 10) -> bool:
        return self.containers.pop(container_id, None) is not None


def _record(
    instance: str, status: str, owner: dict[str, object] | None, port: int
) -> DeploymentRecord:
    return DeploymentRecord(
        instance=instance,
        name="blue",
        model_name="m",
        model_version="1",
        env_name="e",
        env_version="1",
        image="img",
        compute_url="unix:///var/run/docker.sock",
        port=port,
        container_id=f"c-{instance}",
        code_hash="sha256:0",
        status=status,
        details={"owner": owner} if owner is not None else {},
    )


def _dead_owner() -> dict[str, object]:
    """The owner record of a process that has exited."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return {**leftovers.owner(), "pid": gone.pid, "started": "1"}


def test_only_what_interrupted_creates_left_is_removed(tmp_path: Path) -> None:
    ws = f"sqlite:///{tmp_path / 'ws.db'}"
    store = ServingStore(ws)
    records = [
        _record("blue-live", "healthy", _dead_owner(), 9001),  # a running deployment
        _record("blue-dead", "starting", _dead_owner(), 9002),  # a killed create
        _record("blue-busy", "starting", leftovers.owner(), 9003),  # a create in progress
        _record("blue-far", "starting", {**_dead_owner(), "host": "elsewhere"}, 9004),
    ]
    for r in records:
        store.put_deployment(r)

    def tag(instance: str) -> dict[str, str]:
        return leftovers.labels_for("blue", instance, ws)

    engine = Engine(
        {
            **{f"c-{r.instance}": tag(r.instance) for r in records},
            "c-stray": tag("blue-stray"),  # started, then killed before its id was recorded
            "c-other-ws": leftovers.labels_for("blue", "blue-x", "sqlite:///other.db"),
        }
    )
    said = leftovers.sweep("blue", store=store, engine=engine, workspace_url=ws)
    assert sorted(engine.containers) == ["c-blue-busy", "c-blue-far", "c-blue-live", "c-other-ws"]
    assert sorted(r.instance for r in store.list_deployments("blue")) == [
        "blue-busy",
        "blue-far",
        "blue-live",
    ]
    assert len(said) == 3 and all("interrupted create" in words for words in said)
    # Nothing is left to sweep a second time.
    assert leftovers.sweep("blue", store=store, engine=engine, workspace_url=ws) == []
    store.close()


def test_a_reused_pid_is_not_the_creator() -> None:
    me = leftovers.owner()
    assert leftovers.interrupted([_record("a", "starting", me, 1)]) == []
    reused = {**me, "started": "0"}  # same pid, another process
    assert [r.instance for r in leftovers.interrupted([_record("a", "starting", reused, 1)])] == [
        "a"
    ]
    assert os.getpid() == me["pid"]
