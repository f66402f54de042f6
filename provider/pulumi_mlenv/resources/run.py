"""The Run resource: a script run in an environment on a compute target, as
a step of a team's pipeline (a run is environment, target and script).

Lifecycle (``policy.run.decide_run`` holds the diff policy):
- ``check``: the script and source folder must exist (the error names
  ``script`` or ``source``), the compute target must be known; the source
  folder's content hash and the environment's hash, name and version are put
  into the checked inputs.
- ``diff``: a new environment hash, source content, script, arguments or
  compute target make a new run (a replacement), each said in words in the
  preview; anything else changes nothing.
- ``create``: runs the script through ``service.runs.submit`` with the
  Environment's registered version (refused unless it still has the
  Environment's hash). A script that fails fails ``pulumi up`` with the end
  of its log; the failed run stays recorded in the workspace.
- ``delete``: nothing: runs are history, recorded in the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.resources._provider import MlenvProvider, failures_of, say, unknown, without_none

__all__ = ["Run", "RunProvider"]

_INPUTS = (
    "name",
    "script",
    "source",
    "arguments",
    "environment",
    "variables",
    "compute",
    "workspace",
)
_OUTPUTS = (
    "run_id",
    "status",
    "exit_code",
    "outputs",
    "logs",
    "image",
    "lock",
)
#: Sources with more files keep only their hash in state (no file names in reasons).
MAX_LISTED_FILES = 2000
#: Lines of the log shown when the script fails.
TAIL_LINES = 20


class RunProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Run``."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service.runs import locate_script, resolve_compute
        from pulumi_mlenv.service.sources import file_hashes, source_hash

        inputs = {k: news.get(k) for k in _INPUTS if news.get(k) is not None}
        env = inputs.get("environment") or {}
        checked = {
            **inputs,
            "env_hash": env.get("hash"),
            "env_name": env.get("name"),
            "env_version": env.get("version"),
        }
        if unknown([inputs.get("script"), inputs.get("source")]):
            return CheckResult(without_none(checked), [])
        try:
            folder, _ = locate_script(str(inputs.get("script", "")), inputs.get("source"))
            files = file_hashes(folder)
            checked["source_hash"] = source_hash(folder, files)
            if len(files) <= MAX_LISTED_FILES:  # so that a re-run's reason names them
                checked["source_files"] = {k: v[:12] for k, v in files.items()}
            workspace = inputs.get("workspace")
            if not unknown(workspace) and not unknown(inputs.get("compute")):
                settings = self.settings(workspace_url=workspace)
                resolve_compute(
                    str(inputs.get("compute")), settings, settings.workspace_url, outside=self.io
                )
        except MlenvError as err:
            return CheckResult(without_none(checked), failures_of(err, "script"))
        return CheckResult(without_none(checked), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from pulumi_mlenv.policy.run import decide_run

        decision = decide_run(olds, news)
        for reason in decision.reasons:
            say(str(news.get("name")), f"runs again: {reason}")
        return DiffResult(
            changes=bool(decision.replaces),
            replaces=list(decision.replaces),
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_mlenv.service.runs import RunRequest, log_tail, submit

        name = str(props.get("name"))
        env = props["environment"]
        settings = self.settings(workspace_url=props.get("workspace"))
        request = RunRequest(
            script=props["script"],
            source=props.get("source"),
            environment=f"{env['name']}:{env['version']}",
            compute=props.get("compute") or "local",
            arguments=tuple(str(a) for a in props.get("arguments") or ()),
            expect_hash=env.get("hash"),
            variables=tuple(sorted((props.get("variables") or {}).items())),
        )
        result = submit(request, settings=settings, outside=self.io)
        record = result.record
        if record.status.value != "completed":
            tail = log_tail(record, TAIL_LINES)
            raise MlenvError(
                f"{name}: run {record.id} failed with exit code {record.exit_code} "
                f"(recorded in the workspace; log {record.logs_path}); its last lines:\n{tail}"
            )
        say(name, f"run {record.id} completed on {record.compute}: {record.outputs_path}")
        outs = {
            **props,
            "workspace": settings.workspace_url,
            "run_id": record.id,
            "status": record.status.value,
            "exit_code": record.exit_code,
            "outputs": record.outputs_path,
            "logs": record.logs_path,
            "image": record.image,
            "lock": list(record.lock),
            "source_hash": record.source_hash,
        }
        return CreateResult(id_=record.id, outs=without_none(outs))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = {k: v for k, v in props.items() if k in _INPUTS}
        return ReadResult(id_=id_, outs=props, inputs=inputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Runs are history: the record stays in the workspace."""


class Run(Resource, module="mlenv", name="Run"):
    """A script run in an environment on a compute target, recorded in the
    workspace. It runs on create, and again whenever the environment's hash,
    the source folder's content, the script, its arguments or the compute
    target change; a failing script fails ``pulumi up``.

    ``environment``: an ``Environment`` resource (or a mapping with its
    ``name``, ``version``, ``image`` and ``hash``). ``compute``: ``local``,
    ``docker``, a registered target's name, or a ``ComputeTarget``.
    ``source``: the folder snapshotted by content (the script's folder when
    not given); ``script`` is relative to it.
    """

    run_id: pulumi.Output[str]
    """The run's id in the workspace (``mlenv run show ID``)."""
    status: pulumi.Output[str]
    exit_code: pulumi.Output[int]
    outputs: pulumi.Output[str]
    """The folder the script wrote its results to ($MLENV_OUTPUTS)."""
    logs: pulumi.Output[str]
    image: pulumi.Output[str]
    """The environment's image, by digest."""
    lock: pulumi.Output[list[str]]
    env_hash: pulumi.Output[str]
    source_hash: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        script: str,
        environment: Any,
        compute: Any = "local",
        source: str | None = None,
        arguments: Sequence[pulumi.Input[str]] | None = None,
        workspace: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        import os

        environment_resource = environment
        if hasattr(environment, "hash"):
            environment = {
                "name": environment.name,
                "version": environment.version,
                "image": environment.image,
                "hash": environment.hash,
            }
        # Paths are resolved where the program runs; the provider may run elsewhere.
        if source is not None:
            source = os.path.abspath(source)
            if not os.path.isabs(script) and os.path.isfile(script):
                script = os.path.abspath(script)
        else:
            script = os.path.abspath(script)
        props: dict[str, Any] = {
            "name": resource_name,
            "script": script,
            "source": source,
            "arguments": list(arguments or []),
            "environment": environment,
            # The environment's variables with their values: a secret output
            # of the Environment (the workspace keeps a secret one as a reference).
            "variables": getattr(environment_resource, "environment_variables", None),
            "compute": getattr(compute, "name", compute),
            "workspace": getattr(workspace, "url", workspace),
            "env_hash": None,
            "source_hash": None,
            **{k: None for k in _OUTPUTS},
        }
        super().__init__(
            RunProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["variables"])
            ),
        )
