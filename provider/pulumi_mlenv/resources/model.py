"""The Model resource: a file or folder registered in the workspace as a
versioned artifact with a content hash (same content, same name: same
version), with its lineage: the run that made it (``run=``) and the
environment it was trained in (name, version, image digest, lock).

- ``check``: the path must exist (the failure names ``path``); its content
  hash goes into the checked inputs (content only: moving or touching the
  files changes nothing).
- ``diff``: new content or a new name is a replace (a new version, said in
  words); anything else is an update that keeps the version.
- ``delete`` keeps the registered version: models are history, and
  deployments elsewhere may still serve them.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.resources._provider import (
    MlenvProvider,
    failures_of,
    read_result,
    say,
    without_none,
)
from pulumi_mlenv.resources._serving import is_unknown, ref_of, workspace_of

__all__ = ["Model", "ModelProvider"]

_OUTPUTS = (
    "version",
    "content_hash",
    "uri",
    "files",
    "size",
    "run_id",
    "environment_name",
    "environment_version",
    "environment_image",
    "environment_digest",
    "lock",
)


class ModelProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Model``."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.definition.artifacts import tree_digest

        inputs = {k: v for k, v in news.items() if k not in _OUTPUTS and v is not None}
        path = inputs.get("path")
        if inputs.get("run") is not None:  # a path inside the run's outputs
            outputs = inputs.get("run_outputs")
            if is_unknown(outputs) or is_unknown(path) or outputs is None:
                return CheckResult(inputs, [])  # known once the run has run
            path = os.path.join(str(outputs), str(path))
        if is_unknown(path):
            return CheckResult(inputs, [])
        try:
            digest = tree_digest(str(path))
        except FileNotFoundError:
            err = SpecError.at(
                "path",
                f"no file or folder at {path}",
                "give the path of the model's file or folder",
            )
            return CheckResult(inputs, failures_of(err, "path"))
        except ValueError as exc:
            return CheckResult(inputs, failures_of(SpecError.at("path", str(exc)), "path"))
        return CheckResult({**inputs, "content_hash_in": digest.digest}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if "content_hash_in" not in news:
            return DiffResult(changes=True)
        name = str(news.get("name"))
        replaces = []
        if olds.get("name") != news.get("name"):
            replaces.append("name")
            say(name, f"replace: model name {olds.get('name')} -> {name}")
        if olds.get("content_hash") != news["content_hash_in"]:
            replaces.append("path")
            say(
                name,
                f"replace: the content of {news.get('path')} changed "
                f"({str(olds.get('content_hash'))[7:19]} -> {news['content_hash_in'][7:19]}):"
                " a new model version",
            )
        keys = ("path", "environment", "run", "description", "workspace")
        changed = replaces or [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=replaces)

    def _register(self, props: dict[str, Any]) -> dict[str, Any]:
        from pulumi_mlenv.service import models

        settings = self.settings()
        workspace = workspace_of(props, settings)
        if props.get("run"):
            registered = models.register_from_run_id(
                props["name"], str(props["run"]), str(props["path"]), settings=settings,
                workspace_url=workspace, description=props.get("description"), outside=self.io,
            )  # fmt: skip
            return self._outputs(props, workspace, registered)
        lineage = None
        if props.get("environment"):
            name, _, version = str(props["environment"]).partition(":")
            lineage = models.lineage_of_environment(
                name, version or None, workspace_url=workspace, outside=self.io
            )
        registered = models.register_model(
            props["name"],
            props["path"],
            settings=settings,
            workspace_url=workspace,
            lineage=lineage,
            description=props.get("description"),
            outside=self.io,
        )
        return self._outputs(props, workspace, registered)

    @staticmethod
    def _outputs(props: dict[str, Any], workspace: str, registered: Any) -> dict[str, Any]:
        m = registered.model
        say(
            m.name,
            f"version {m.version} {'registered' if registered.new else 'already registered'}"
            f" ({m.content_hash[:19]})",
        )
        return without_none(
            {
                **props,
                "workspace": workspace,
                "version": m.version,
                "content_hash": m.content_hash,
                "uri": m.uri,
                "files": list(m.files),
                "size": m.size,
                "run_id": m.lineage.run_id,
                "environment_name": m.lineage.env_name,
                "environment_version": m.lineage.env_version,
                "environment_image": m.lineage.env_image,
                "environment_digest": m.lineage.env_digest,
                "lock": list(m.lineage.env_lock),
            }
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._register(props)
        return CreateResult(id_=f"{outs['name']}:{outs['version']}", outs=outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._register(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return read_result(id_, props, _OUTPUTS)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Keeps the registered version (history; other stacks may serve it)."""


class Model(Resource, module="mlenv", name="Model"):
    """A model registered from ``path`` (a file or a folder), versioned by
    content in the workspace. ``environment=``: the Environment it was
    trained in, recorded as its lineage (name, version, image digest, lock).

    ``run=``: a ``Run`` (or a run id) whose outputs hold ``path``: the model
    records the run, its environment version, image digest and lock.
    """

    name: pulumi.Output[str]
    version: pulumi.Output[str]
    """The registered version: the same content under the same name keeps it."""
    content_hash: pulumi.Output[str]
    """``sha256:...`` over file names and bytes (docs/deployments.md)."""
    uri: pulumi.Output[str]
    """The folder holding the registered copy."""
    files: pulumi.Output[list[str]]
    size: pulumi.Output[int]
    run_id: pulumi.Output[str]
    environment_name: pulumi.Output[str]
    environment_version: pulumi.Output[str]
    environment_image: pulumi.Output[str]
    environment_digest: pulumi.Output[str]
    lock: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        path: str,
        name: pulumi.Input[str] | None = None,
        environment: Any = None,
        run: Any = None,
        description: pulumi.Input[str] | None = None,
        workspace: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name or resource_name,
            # Resolved where the program runs; the hash covers content only.
            "path": path if run is not None else os.path.abspath(path),
            "environment": ref_of(environment),
            # A Run resource (or a run id): path is inside its outputs.
            "run": getattr(run, "run_id", run),
            "run_outputs": getattr(run, "outputs", None),
            "description": description,
            "workspace": getattr(workspace, "url", workspace),
            "content_hash_in": None,
            **{k: None for k in _OUTPUTS},
        }
        super().__init__(ModelProvider(), resource_name, props, opts)
