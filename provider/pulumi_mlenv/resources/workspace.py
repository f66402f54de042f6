"""The Workspace resource: where environment versions, images and compute
targets are recorded (registered on first use). A SQLite file by default; any SQLAlchemy URL
(``postgresql+psycopg://...``) for a team."""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.resources._provider import MlenvProvider, failures_of, unwrap_pickler

__all__ = ["Workspace", "WorkspaceProvider"]


class WorkspaceProvider(MlenvProvider):
    """Opens (and creates the tables of) the workspace database. Deleting the
    resource keeps the database: it holds the history of every environment."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service.workspaces import check_readable, check_workspace_url

        url = news.get("url") or self.settings().workspace_url
        try:
            check_workspace_url(url)
            check_readable(url, outside=self.io)
        except MlenvError as err:
            return CheckResult(news, failures_of(err, "url"))
        return CheckResult({**news, "url": url}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("url") != news.get("url")
        return DiffResult(changes=changed, replaces=["url"] if changed else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_mlenv.service.workspaces import open_workspace

        open_workspace(props["url"], outside=self.io)  # creates the tables
        return CreateResult(id_=props["url"], outs=props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Keeps the database (history must survive a `pulumi destroy`)."""


class Workspace(Resource, module="mlenv", name="Workspace"):
    """A workspace: ``path=`` a SQLite file (made absolute where the program
    runs), or ``url=`` any SQLAlchemy URL; neither: ``mlenv:workspace`` config,
    then ``MLENV_WORKSPACE``."""

    url: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        path: str | None = None,
        url: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if path is not None:
            url = f"sqlite:///{os.path.abspath(path)}"
        if url is None:
            url = pulumi.Config("mlenv").get("workspace")
        unwrap_pickler()  # the SDK's pickler wrappers nest per resource
        super().__init__(WorkspaceProvider(), resource_name, {"url": url}, opts)
