"""The ComputeTarget resource: where scripts run (a run is environment, target and script),
recorded in the
workspace: ``local`` (a host process), ``docker`` (an engine by URL:
``unix://``, ``tcp://`` or ``ssh://``), ``spark`` (a standalone cluster's
master, ``spark://host:7077``) or ``ray`` (a Ray cluster's Jobs API,
``http://head:8265``)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource, UpdateResult

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.resources._provider import MlenvProvider, failures_of, unwrap_pickler

__all__ = ["ComputeTarget", "ComputeTargetProvider"]


class ComputeTargetProvider(MlenvProvider):
    """Reachability is checked when the kind or URL changes (not on every preview)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service.targets import check_target

        kind, url = news.get("kind") or "local", news.get("url")
        if kind == "docker" and not url:
            url = self.settings().docker_host
        checked = {**news, "kind": kind, **({"url": url} if url else {})}
        if (olds.get("kind"), olds.get("url")) == (kind, url):
            return CheckResult(checked, [])
        try:
            check_target(kind, url, outside=self.io)
        except MlenvError as err:
            return CheckResult(checked, failures_of(err, "url" if kind == "docker" else "kind"))
        return CheckResult(checked, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("name", "kind", "url", "workspace")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k != "url"])

    def _record(self, props: dict[str, Any]) -> None:
        from pulumi_mlenv.service.targets import record_target

        url = props.get("workspace") or self.settings().workspace_url
        record_target(props["name"], props["kind"], props.get("url"), url, outside=self.io)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._record(props)
        return CreateResult(id_=f"{props['kind']}:{props['name']}", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._record(news)
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from pulumi_mlenv.service.targets import forget_target

        url = props.get("workspace") or self.settings().workspace_url
        forget_target(props["name"], url, outside=self.io)


class ComputeTarget(Resource, module="mlenv", name="ComputeTarget"):
    """A compute target recorded in the workspace. ``kind``: ``local``,
    ``docker`` (``url`` defaults to ``DOCKER_HOST``), ``spark`` (``url``:
    the master, ``spark://host:7077``) or ``ray`` (``url``: the Jobs API,
    ``http://head:8265``)."""

    name: pulumi.Output[str]
    kind: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        kind: str = "local",
        url: pulumi.Input[str] | None = None,
        name: str | None = None,
        workspace: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": name or resource_name,
            "kind": kind,
            "url": url,
            "workspace": getattr(workspace, "url", workspace),
        }
        unwrap_pickler()  # the SDK's pickler wrappers nest per resource
        super().__init__(ComputeTargetProvider(), resource_name, props, opts)
