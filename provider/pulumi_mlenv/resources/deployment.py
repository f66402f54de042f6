"""The Deployment resource: a model + an environment + an entry script (+ a
source folder) served as a web service on a Docker compute target by the
Azure ML inference HTTP server (``service.deployments``).

- ``check``: the entry script must define ``init()`` and ``run(raw_data)``,
  the source folder must hold it, the engine must answer, a fixed port must
  be free: each failure names its input, before anything is built or started.
  The code's digests go into the checked inputs.
- ``diff``: a new environment image, model version, entry script, source
  content, compute target or port is a replace, said in words; the
  replacement starts and becomes healthy before the old one stops
  (create-before-delete; a fixed port must be released first, so then the old
  one stops first). A deployment that refresh found unhealthy is replaced.
  Only ``timeout`` is an update (nothing restarts).
- ``read`` (refresh): the container is inspected and ``GET /`` asked;
  ``status`` becomes ``healthy`` or ``unhealthy`` (engine silent: unchanged).
- ``delete``: the container is removed and its port freed.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.policy.deployment import UPDATE_IN_PLACE, replace_reasons
from pulumi_mlenv.resources._provider import (
    MlenvProvider,
    failures_of,
    read_result,
    say,
    without_none,
)
from pulumi_mlenv.resources._serving import is_unknown, ref_of, workspace_of

__all__ = ["Deployment", "DeploymentProvider", "replace_reasons"]

DEFAULT_TIMEOUT = 120.0
_DERIVED = ("entry_hash", "source_hash", "code_hash", "entry")
_OUTPUTS = (
    "scoring_uri",
    "port_in_use",
    "container_id",
    "image",
    "image_digest",
    "environment_version",
    "model_version",
    "status",
    "built",
    "build_seconds",
    "start_seconds",
)


class DeploymentProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Deployment``."""

    def _spec(self, props: dict[str, Any]) -> Any:
        from pulumi_mlenv.service.deployments import DeploymentSpec

        return DeploymentSpec(
            name=str(props["name"]),
            model=str(props.get("model") or ""),
            environment=str(props.get("environment") or ""),
            entry_script=str(props["entry_script"]),
            source=props.get("source"),
            compute_url=str(props["compute"]),
            timeout=float(props.get("timeout") or DEFAULT_TIMEOUT),
            port=int(props["port"]) if props.get("port") is not None else None,
        )

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service import deployments as deps

        inputs = {
            k: v for k, v in news.items() if k not in (*_DERIVED, *_OUTPUTS) and v is not None
        }
        inputs.setdefault("compute", self.settings().docker_host)
        known = ("entry_script", "source", "compute", "port", "timeout")
        if any(is_unknown(inputs.get(k)) for k in known):
            return CheckResult(inputs, [])
        spec = self._spec({**inputs, "model": "", "environment": ""})
        # The engine and a fixed port are asked only when they change (not
        # on every preview of a running deployment, whose port is its own).
        moved = (olds.get("compute"), olds.get("port")) != (inputs["compute"], inputs.get("port"))
        problems, code = deps.inspect_deployment(
            spec,
            workspace_url=None,
            check_engine=moved or not olds,
            check_port=moved or not olds,
            outside=self.io,
        )
        if problems or code is None:
            return CheckResult(inputs, failures_of(SpecError(problems)))
        return CheckResult(
            {
                **inputs,
                "entry": code.entry,
                "entry_hash": code.entry_hash,
                "source_hash": code.source_hash or "",
                "code_hash": code.code_hash,
            },
            [],
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if "code_hash" not in news:  # the code's inputs are not known yet
            return DiffResult(changes=True)
        reasons = replace_reasons(olds, news)
        for reason in reasons.values():
            say(str(news.get("name")), f"replace: {reason}")
        updates = [k for k in UPDATE_IN_PLACE if olds.get(k) != news.get(k)]
        fixed_port = news.get("port") is not None and olds.get("port") == news.get("port")
        return DiffResult(
            changes=bool(reasons or updates),
            replaces=list(reasons),
            stables=[],
            delete_before_replace=bool(reasons) and fixed_port,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_mlenv.service import deployments as deps

        settings = self.settings()
        workspace = workspace_of(props, settings)
        code = deps.Code(
            str(props["entry"]),
            str(props["entry_hash"]),
            props.get("source_hash") or None,
            str(props["code_hash"]),
        )
        done = deps.deploy(
            self._spec(props),
            settings=settings,
            workspace_url=workspace,
            outside=self.io,
            code=code,
        )
        for words in done.swept:
            say(done.name, words)
        verb = f"built in {done.build_seconds:.1f}s" if done.built else "reused"
        say(done.name, f"inference image {verb}; live at {done.scoring_uri} in {done.seconds:.1f}s")
        outs = without_none(
            {
                **props,
                "workspace": workspace,
                "scoring_uri": done.scoring_uri,
                "port_in_use": done.port,
                "container_id": done.container_id,
                "image": done.image,
                "image_digest": done.image_digest,
                "environment_version": done.env_version,
                "model_version": done.model_version,
                "status": done.status,
                "built": done.built,
                "build_seconds": round(done.build_seconds, 3),
                "start_seconds": round(done.seconds, 3),
            }
        )
        return CreateResult(id_=done.instance, outs=outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Only the timeout or the workspace record changed: nothing restarts."""
        return UpdateResult(outs={**{k: olds[k] for k in _OUTPUTS if k in olds}, **news})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_mlenv.service import deployments as deps

        status = deps.deployment_health(
            id_,
            container_id=str(props.get("container_id") or ""),
            compute_url=str(props.get("compute")),
            port=int(props.get("port_in_use") or 0),
            workspace_url=props.get("workspace"),
            outside=self.io,
        )
        outs = dict(props)
        if status != "unknown":
            if status != props.get("status"):
                say(
                    str(props.get("name")),
                    f"status {props.get('status')} -> {status}"
                    + ("; the next up replaces it" if status == "unhealthy" else ""),
                    warn=status == "unhealthy",
                )
            outs["status"] = status
        return read_result(id_, outs, _OUTPUTS)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from pulumi_mlenv.service import deployments as deps

        try:
            deps.undeploy(
                id_,
                container_id=props.get("container_id"),
                compute_url=str(props.get("compute")),
                workspace_url=props.get("workspace"),
                outside=self.io,
            )
        except MlenvError as err:
            raise MlenvError(f"{props.get('name')}: {err}") from None


class Deployment(Resource, module="mlenv", name="Deployment"):
    """A model served as a web service (``POST /score``, liveness ``GET /``)
    from the environment it belongs with, by the Azure ML inference HTTP
    server, in a container on a Docker compute target.

    ``model``: a Model (or ``"NAME:VERSION"``); ``environment``: an
    Environment; ``entry_script``: a scoring script with ``init()`` and
    ``run(raw_data)`` (relative to ``source`` when a source folder is given);
    ``compute``: a ComputeTarget of kind docker (or an engine URL; default
    ``DOCKER_HOST``); ``timeout``: seconds to wait for liveness; ``port``: a
    fixed port (default: a free one).
    """

    name: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    """``http://127.0.0.1:<port>/score``."""
    port_in_use: pulumi.Output[int]
    container_id: pulumi.Output[str]
    image: pulumi.Output[str]
    """The inference image by digest (environment + server + code)."""
    image_digest: pulumi.Output[str]
    environment_version: pulumi.Output[str]
    model_version: pulumi.Output[str]
    status: pulumi.Output[str]
    """``healthy`` or ``unhealthy`` (as of the last up or refresh)."""
    built: pulumi.Output[bool]
    """False when the inference image was reused (same environment, server, code)."""
    build_seconds: pulumi.Output[float]
    start_seconds: pulumi.Output[float]

    def __init__(
        self,
        resource_name: str,
        *,
        model: Any,
        environment: Any,
        entry_script: str,
        source: str | None = None,
        compute: Any = None,
        timeout: float | None = None,
        port: int | None = None,
        name: pulumi.Input[str] | None = None,
        workspace: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        source_abs = os.path.abspath(source) if source else None
        entry = entry_script
        if not os.path.isabs(entry):
            entry = os.path.join(source_abs, entry) if source_abs else os.path.abspath(entry)
        props: dict[str, Any] = {
            "name": name or resource_name,
            "model": ref_of(model),
            "environment": ref_of(environment),
            "environment_image": getattr(environment, "image", None),
            "entry_script": entry,
            "source": source_abs,
            "compute": getattr(compute, "url", compute),
            "timeout": timeout,
            "port": port,
            "workspace": getattr(workspace, "url", workspace),
            **{k: None for k in (*_DERIVED, *_OUTPUTS)},
        }
        super().__init__(DeploymentProvider(), resource_name, props, opts)
