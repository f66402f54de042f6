"""Safe rollout on the real engine, BuildKit, registry and HAProxy: 15
kept-alive clients post through an endpoint while each kind of change
happens in the order `pulumi up` performs it (a replacement is created,
the endpoint updated, then the old deployment deleted). No request fails.
(An interrupted create is tests/faults/test_killed_deployment_up.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_mlenv.compute.proxy import HAProxy
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints
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
