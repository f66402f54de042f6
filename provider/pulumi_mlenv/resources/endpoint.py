"""The Endpoint resource: a stable address in front of one or more
deployments, with traffic weights (blue/green, canary), served by HAProxy.

- ``check``: at least one deployment, weights whole numbers 0..256 not all
  0, a fixed port free (each failure names its input).
- ``diff``: new weights or deployments behind it are an *update*: the proxy
  reloads gracefully and no deployment restarts; a new name or port is a
  replace. A proxy that refresh found stopped is replaced.
- ``delete``: the proxy stops and its port is freed.
- Weights set outside Pulumi (``mlenv endpoint traffic``) are drift: the
  diff compares the program's with the workspace's and says so (an update
  sets the program's again); a refresh takes the workspace's into the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.policy.endpoint import decide_endpoint, traffic_drift
from pulumi_mlenv.resources._provider import MlenvProvider, failures_of, read_result, say
from pulumi_mlenv.resources._serving import is_unknown, workspace_of

__all__ = ["Endpoint", "EndpointProvider"]

_OUTPUTS = ("scoring_uri", "port_in_use", "status")


class EndpointProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Endpoint``."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service import endpoints

        inputs = {k: v for k, v in news.items() if k not in _OUTPUTS and v is not None}
        if is_unknown(inputs.get("deployments")) or is_unknown(inputs.get("port")):
            return CheckResult(inputs, [])
        port = inputs.get("port")
        problems = endpoints.check_endpoint(
            inputs.get("deployments") or [],
            port=int(port) if port is not None else None,
            check_port=olds.get("port") != port,
            outside=self.io,
        )
        if problems:
            return CheckResult(inputs, failures_of(SpecError(problems), "deployments"))
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        decision = decide_endpoint(olds, news)
        for line in decision.reasons:
            say(str(news.get("name")), line)
        unchanged = olds.get("deployments") == news.get("deployments")
        drifted = unchanged and self._drift(str(news.get("name")), olds, news)
        return DiffResult(changes=decision.changes or drifted, replaces=list(decision.replaces))

    def _drift(self, name: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Weights changed outside Pulumi (``mlenv endpoint traffic``): the
        workspace's differ from the program's; said in words, and an update
        sets the program's again."""
        from pulumi_mlenv.service import endpoints

        if is_unknown(news.get("deployments")) or not olds.get("workspace"):
            return False
        live = endpoints.live_weights(name, workspace_url=str(olds["workspace"]), outside=self.io)
        reason = traffic_drift(live, news.get("deployments"))
        if reason is None:
            return False
        say(name, reason)
        return True

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        from pulumi_mlenv.service import endpoints

        settings = self.settings()
        workspace = workspace_of(props, settings)
        record = endpoints.apply_endpoint(
            str(props["name"]),
            endpoints.backends_from(props.get("deployments") or []),
            settings=settings,
            workspace_url=workspace,
            port=int(props["port"]) if props.get("port") is not None else None,
            outside=self.io,
        )
        shares = ", ".join(f"{n} {w}" for n, _, w in record.backends)
        say(record.name, f"serving at {record.scoring_uri} ({shares})")
        return {
            **props,
            "workspace": workspace,
            "scoring_uri": record.scoring_uri,
            "port_in_use": record.port,
            "status": "running",
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._apply(props)
        return CreateResult(id_=str(props["name"]), outs=outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_mlenv.service import endpoints

        state = endpoints.endpoint_state(
            id_, workspace_url=str(props.get("workspace")), outside=self.io
        )
        outs = dict(props)
        outs["status"] = "running" if state is not None and state.running else "stopped"
        # Weights set outside Pulumi (mlenv endpoint traffic) become the state.
        live = endpoints.live_weights(
            id_, workspace_url=str(props.get("workspace")), outside=self.io
        )
        if live is not None and traffic_drift(live, props.get("deployments")) is not None:
            say(id_, f"traffic changed outside Pulumi: {live}", warn=True)
            outs["deployments"] = [
                {**item, "weight": live.get(str(item.get("name")), 0)}
                for item in props.get("deployments") or []
                if isinstance(item, Mapping)
            ]
        if outs["status"] != props.get("status"):
            say(id_, f"proxy {outs['status']}; the next up starts it again", warn=True)
        return read_result(id_, outs, _OUTPUTS)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from pulumi_mlenv.service import endpoints

        endpoints.remove_endpoint(id_, workspace_url=str(props.get("workspace")), outside=self.io)


class Endpoint(Resource, module="mlenv", name="Endpoint"):
    """A stable scoring address in front of deployments, with traffic weights:
    ``Endpoint("scoring", deployments={blue: 90, green: 10})``. Keys are
    Deployment resources; weights whole numbers 0..256 (0: no traffic).
    Changing them reloads the proxy; no deployment restarts."""

    name: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    """``http://127.0.0.1:<port>/score``; stays the same across updates."""
    port_in_use: pulumi.Output[int]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        deployments: Mapping[Any, int],
        port: int | None = None,
        name: str | None = None,
        workspace: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        items = [
            {
                "name": getattr(deployment, "name", None),
                "scoring_uri": getattr(deployment, "scoring_uri", None),
                "weight": weight,
            }
            for deployment, weight in deployments.items()
        ]
        props: dict[str, Any] = {
            "name": name or resource_name,
            "deployments": items,
            "port": port,
            "workspace": getattr(workspace, "url", workspace),
            **{k: None for k in _OUTPUTS},
        }
        super().__init__(EndpointProvider(), resource_name, props, opts)
