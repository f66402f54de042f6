"""Safe rollout on the real engine, BuildKit, registry and HAProxy: 15
kept-alive clients post through an endpoint while each kind of change
happens in the order `pulumi up` performs it (a replacement is created,
the endpoint updated, then the old deployment deleted). No request fails.

And an interrupted create: the process creating a deployment is killed
(SIGKILL) once its container runs; the next create of that deployment
removes the container and the ``starting`` record it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from pulumi_mlenv.compute.proxy import HAProxy
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints, leftovers
from pulumi_mlenv.workspace.serving_store import ServingStore
from serving.test_deployments import SCORE, Served, served
from support.keepalive import KeepAliveClients

pytestmark = pytest.mark.docker
__all__ = ["served"]  # the module's fixture, shared

CLIENTS = 15


def _script(tag: str) -> str:
    """A scoring script that says which deployment answered."""
    return SCORE.replace('return {"k": K', f'return {{"by": "{tag}", "k": K')


def _deploy(served: Served, name: str, tag: str) -> deps.Deployed:
    spec = served.spec(name, _script(tag))
    return deps.deploy(spec, settings=served.settings, workspace_url=served.workspace)


def _undeploy(served: Served, d: deps.Deployed) -> None:
    deps.undeploy(
        d.instance,
        container_id=d.container_id,
        compute_url=served.settings.docker_host,
        workspace_url=served.workspace,
    )


def _route(served: Served, name: str, weights: dict[deps.Deployed, int]) -> None:
    items = [{"name": d.name, "scoring_uri": d.scoring_uri, "weight": w}
             for d, w in weights.items()]  # fmt: skip
    endpoints.apply_endpoint(
        name,
        endpoints.backends_from(items),
        settings=served.settings,
        workspace_url=served.workspace,
    )


def _by(clients: KeepAliveClients) -> dict[str, int]:
    import json

    counts: dict[str, int] = {}
    for body, n in clients.snapshot().answers.items():
        tag = json.loads(body)["by"]
        counts[tag] = counts.get(tag, 0) + n
    return counts


def _until(clients: KeepAliveClients, more: int) -> None:
    """Let the clients make ``more`` requests (bounded: a minute at most)."""
    target = clients.snapshot().requests + more
    deadline = time.monotonic() + 60
    while clients.snapshot().requests < target and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def blue_green(served: Served) -> Iterator[tuple[deps.Deployed, deps.Deployed]]:
    blue, green = _deploy(served, "blue", "blue"), _deploy(served, "green", "green")
    yield blue, green
    for d in ServingStore(served.workspace).list_deployments():
        deps.undeploy(
            d.instance,
            container_id=d.container_id,
            compute_url=d.compute_url,
            workspace_url=served.workspace,
        )


def test_no_request_fails_through_weights_replace_add_and_remove(
    served: Served, blue_green: tuple[deps.Deployed, deps.Deployed]
) -> None:
    blue, green = blue_green
    name = "rollout"
    _route(served, name, {blue: 100, green: 0})
    record = ServingStore(served.workspace).get_endpoint(name)
    assert record is not None
    try:
        with KeepAliveClients(record.scoring_uri, CLIENTS) as clients:
            _until(clients, 200)
            for weights in ((50, 50), (0, 100)):  # the endpoint's own updates
                _route(served, name, {blue: weights[0], green: weights[1]})
                _until(clients, 200)
            # green replaced: the new one is live before the endpoint moves,
            # the old one stops after the reload (and its drain) returned.
            green2 = _deploy(served, "green", "green2")
            _route(served, name, {blue: 0, green2: 100})
            _undeploy(served, green)
            _until(clients, 300)
            # a deployment added, then one removed (deleted after the update)
            third = _deploy(served, "third", "third")
            _route(served, name, {blue: 0, green2: 50, third: 50})
            _until(clients, 300)
            _route(served, name, {green2: 100})
            _undeploy(served, third)
            _until(clients, 300)
        tally = clients.tally
        assert tally.failures == {}, tally.failures
        seen = _by(clients)
        assert seen.get("green2", 0) >= 300 and seen.get("third", 0) > 0, seen
        print(f"{tally.requests} requests, 0 errors, p50 {tally.p50 * 1000:.1f} ms, {seen}")
    finally:
        endpoints.remove_endpoint(name, workspace_url=served.workspace)
    assert not Path(record.home).exists()  # destroy removes the proxy's folder
    assert HAProxy(Path(record.home), record.port).master_pid() is None


KILLED_CREATE = """
import sys
from dataclasses import replace
from pathlib import Path
from pulumi_mlenv.config import Settings
from pulumi_mlenv.service import deployments as deps
settings = replace(Settings.from_env(), registry=sys.argv[1], cache_dir=Path(sys.argv[2]))
spec = deps.DeploymentSpec(name="killed", model=sys.argv[3], environment=sys.argv[4],
                           entry_script=sys.argv[5], compute_url=settings.docker_host,
                           timeout=300)
deps.deploy(spec, settings=settings, workspace_url=sys.argv[6])
"""


def _containers(workspace: str, name: str) -> list[str]:
    client = docker.from_env()
    try:
        labels = [f"{leftovers.NAME_LABEL}={name}"]
        labels.append(f"{leftovers.WORKSPACE_LABEL}={leftovers.workspace_tag(workspace)}")
        return [c.id for c in client.containers.list(all=True, filters={"label": labels})]
    finally:
        client.close()


def test_a_create_killed_mid_start_is_cleaned_by_the_next_create(served: Served) -> None:
    """SIGKILL of the creating process (what a killed provider is) once the
    container runs: a container and a ``starting`` record are left; the
    next create removes both and says so; one record, one container."""
    script = served.root / "killed.py"
    # A server that takes a minute to start: the kill lands while it starts.
    script.write_text("import time\ntime.sleep(60)\n" + _script("killed"))
    args = [
        str(served.settings.registry),
        str(served.settings.cache_dir),
        served.model,
        served.env,
        str(script),
        served.workspace,
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_CREATE), *args],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = ServingStore(served.workspace)
    deadline = time.monotonic() + 300
    while not _containers(served.workspace, "killed"):
        assert proc.poll() is None, "the create ended before its container started"
        assert time.monotonic() < deadline, "no container within 300 s"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = store.list_deployments("killed")
    assert [r.status for r in left] == ["starting"]
    assert len(_containers(served.workspace, "killed")) == 1

    done = deps.deploy(
        served.spec("killed", _script("killed")),
        settings=served.settings,
        workspace_url=served.workspace,
    )
    try:
        assert any("interrupted create" in words for words in done.swept), done.swept
        rows = store.list_deployments("killed")
        assert [(r.instance, r.status) for r in rows] == [(done.instance, "healthy")]
        assert _containers(served.workspace, "killed") == [done.container_id]
    finally:
        _undeploy(served, done)
    assert _containers(served.workspace, "killed") == []
