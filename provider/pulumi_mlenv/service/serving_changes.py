"""Deployments and endpoints changed from the command line, through the same
calls as the Deployment and Endpoint resources (``deployments.deploy`` /
``undeploy``, ``endpoints.apply_endpoint`` / ``remove_endpoint``), recorded
in the same workspace. A Pulumi program that manages the same endpoint sees
such a change as drift: its diff compares the program's weights with the
workspace's (``endpoints.live_weights``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, Problem, SpecError
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.workspace.serving_store import DeploymentRecord, EndpointRecord

if TYPE_CHECKING:
    from pulumi_mlenv.compute.proxy import Backend
    from pulumi_mlenv.service.outside import ServingStore

__all__ = [
    "create_deployment",
    "create_endpoint",
    "delete_deployment",
    "parse_weights",
    "set_traffic",
]


def parse_weights(items: Sequence[str], *, heading: str) -> dict[str, int]:
    """``["blue=90", "green=10"]`` -> ``{"blue": 90, "green": 10}``;
    ``SpecError`` naming each malformed item."""
    weights: dict[str, int] = {}
    problems = []
    for item in items:
        name, sep, value = item.partition("=")
        if not (sep and name and value.strip().isdigit()):
            problems.append(
                Problem(item, "not DEPLOYMENT=WEIGHT", "e.g. blue=90 green=10 (whole numbers)")
            )
            continue
        weights[name.strip()] = int(value)
    if not items:
        problems.append(Problem("weights", "no deployment given", "e.g. blue=90 green=10"))
    if problems:
        raise SpecError(problems, heading=heading)
    return weights


def create_deployment(
    spec: deps.DeploymentSpec,
    *,
    settings: Settings,
    workspace_url: str,
    outside: Outside | None = None,
) -> deps.Deployed:
    """Check, then deploy ``spec`` as the Deployment resource's create does."""
    io = outside_or_real(outside)
    problems = deps.check_deployment(
        spec, workspace_url=workspace_url, check_engine=True, check_port=True, outside=io
    )
    if problems:
        raise SpecError(problems, heading="cannot create the deployment")
    with io.serving(workspace_url) as store:
        if store.list_deployments(spec.name):
            raise SpecError.at(
                "name",
                f"a deployment {spec.name} is already recorded",
                f"delete it first (mlenv deployment delete {spec.name}) or give another name",
                heading="cannot create the deployment",
            )
    return deps.deploy(spec, settings=settings, workspace_url=workspace_url, outside=io)


def delete_deployment(
    name: str, *, workspace_url: str, outside: Outside | None = None
) -> list[DeploymentRecord]:
    """Stop every instance of deployment ``name`` and forget it, as the
    resource's delete does; the removed records (none: ``MlenvError``)."""
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        records = store.list_deployments(name)
    if not records:
        raise MlenvError(f"no deployment {name} in the workspace (mlenv deployment list)")
    for record in records:
        deps.undeploy(
            record.instance,
            container_id=record.container_id,
            compute_url=record.compute_url,
            workspace_url=workspace_url,
            outside=io,
        )
    return records


def _backends(
    weights: Mapping[str, int], known: Mapping[str, str], store: ServingStore, heading: str
) -> tuple[Backend, ...]:
    """Backends for ``weights``: each deployment's address from ``known``
    (the endpoint's current backends), else its workspace record."""
    items = []
    for name, weight in weights.items():
        address = known.get(name)
        if address is None:
            recorded = store.list_deployments(name)
            if not recorded:
                raise SpecError.at(
                    name,
                    f"no deployment {name} in the workspace",
                    "mlenv deployment list shows them",
                    heading=heading,
                )
            address = f"127.0.0.1:{recorded[-1].port}"
        items.append({"name": name, "scoring_uri": f"http://{address}/score", "weight": weight})
    try:
        return endpoints.backends_from(items)
    except SpecError as err:
        raise SpecError(list(err.problems), heading=heading) from None


def create_endpoint(
    name: str,
    weights: Mapping[str, int],
    *,
    settings: Settings,
    workspace_url: str,
    port: int | None = None,
    outside: Outside | None = None,
) -> EndpointRecord:
    """A new endpoint in front of recorded deployments (the resource's create)."""
    heading = "cannot create the endpoint"
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        if store.get_endpoint(name) is not None:
            raise SpecError.at(
                "name",
                f"an endpoint {name} exists already",
                f"change its weights with mlenv endpoint traffic {name} ...",
                heading=heading,
            )
        backends = _backends(weights, {}, store, heading)
    return endpoints.apply_endpoint(
        name, backends, settings=settings, workspace_url=workspace_url, port=port, outside=io
    )


def set_traffic(
    name: str,
    weights: Mapping[str, int],
    *,
    settings: Settings,
    workspace_url: str,
    outside: Outside | None = None,
) -> EndpointRecord:
    """New weights for an endpoint (the resource's update): the deployments
    named get these weights, those behind it and not named keep theirs, the
    proxy reloads gracefully and no deployment restarts."""
    heading = "cannot change the traffic"
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        current = store.get_endpoint(name)
        if current is None:
            raise MlenvError(f"no endpoint {name} in the workspace (mlenv endpoint list)")
        known = {n: address for n, address, _ in current.backends}
        merged = {n: w for n, _, w in current.backends} | dict(weights)
        backends = _backends(merged, known, store, heading)
    return endpoints.apply_endpoint(
        name, backends, settings=settings, workspace_url=workspace_url, outside=io
    )
