"""The Environment resource: a definition whose hash decides, in preview,
whether its image is reused, its metadata updated, or a new image built.

Lifecycle (``policy.decide`` holds the diff policy):
- ``check``: inputs -> definition (bad input fails here, per property, and
  nothing is built or registered); the base tag is resolved to a digest
  (R17); the hash and the parsed definition are put into the checked inputs.
- ``diff``: replace on a new hash, with the reasons printed one per line;
  update for metadata only; else nothing.
- ``create``: reuse or build the image (R14), then register the version (R6).
- ``update``: metadata only: re-register under the new name/version if it changed.
- ``read`` (refresh): an image deleted from its registry drops the resource so
  that the next ``up`` rebuilds it; a registry that does not answer changes nothing.
- ``delete``: releases this stack's hold on the version (archived once
  nothing holds it, never deleted); never deletes an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, Problem, SpecError
from pulumi_mlenv.resources._provider import MlenvProvider, failures_of, say, without_none

__all__ = [
    "CondaArgs",
    "DockerArgs",
    "Environment",
    "EnvironmentProvider",
    "PythonArgs",
    "SparkArgs",
]

#: Definition fields whose input property has another name.
_RENAMES = {"version": "requested_version"}
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN
#: Checked-input keys the provider adds; never user inputs.
_DERIVED = ("hash", "definition", "base_digest", "base_image")

# Replacements the diff decided to force (R18), as (name, rebuild_trigger).
# The engine re-runs ``check`` with no old inputs before creating a
# replacement, so nothing in the inputs can carry "forced" from ``diff`` to
# ``create``; both run in this one provider process during an update.
_FORCED: set[tuple[str, str]] = set()


class CondaArgs(TypedDict, total=False):
    """conda's ``environment.yml`` shape: ``dependencies`` may end with
    ``{"pip": [...]}`` holding requirements and option lines."""

    name: str
    channels: list[str]
    dependencies: list[Any]


class PythonArgs(TypedDict, total=False):
    user_managed: bool
    interpreter_path: str
    conda: CondaArgs
    conda_file: str


class DockerArgs(TypedDict, total=False):
    base_image: str
    base_dockerfile: str
    steps: list[str]
    shm_size: str
    arguments: list[str]
    platform: str


class SparkArgs(TypedDict, total=False):
    repositories: list[str]
    packages: list[dict[str, str]]
    precache_packages: bool


def _unknown(value: Any) -> bool:
    if value == _UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_unknown(v) for v in value)
    return False


class EnvironmentProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Environment``."""

    def _settings_for(self, props: Mapping[str, Any]) -> Settings:
        settings = self.settings(
            registry=props.get("registry"),
            global_registry=props.get("global_registry"),
            workspace_url=props.get("workspace"),
        )
        logins = [
            (str(address).split("/", 1)[0], props[f"{key}_username"], props[f"{key}_password"])
            for key, address in (
                ("registry", settings.registry),
                ("global_registry", settings.global_registry),
            )
            if address and props.get(f"{key}_username") and props.get(f"{key}_password")
        ]
        if not logins:
            return settings
        return settings.with_overrides(
            registry_credentials=(*logins, *settings.registry_credentials)
        )

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service import environments as envs

        inputs = {k: v for k, v in news.items() if k not in _DERIVED and v is not None}
        definition_inputs = {
            **{k: inputs.get(k) for k in ("python", "docker", "spark", "source", "curated")},
            **self._metadata(inputs),
        }
        if _unknown(definition_inputs):
            return CheckResult(inputs, [])  # preview of a program whose inputs are not known yet
        settings = self._settings_for(inputs)
        try:
            resolved = envs.resolve(envs.definition_from_inputs(definition_inputs), settings)
        except MlenvError as err:
            return CheckResult(inputs, failures_of(err, "docker", _RENAMES))
        problems: list[Problem] = []
        workspace = inputs.get("workspace") or settings.workspace_url
        if not _unknown(workspace) and _olds.get("hash") != resolved.hash:
            try:
                conflict = envs.check_version(resolved, workspace)
            except MlenvError as err:
                conflict = Problem("workspace", str(err))
            if conflict:
                problems.append(conflict)
        if problems:
            return CheckResult(inputs, failures_of(SpecError(problems), renames=_RENAMES))
        checked = {
            **inputs,
            "name": resolved.spec.name,
            "hash": resolved.hash,
            "definition": envs.to_state(resolved.spec),
            "base_digest": resolved.spec.docker.resolved_base_digest,
            "base_image": resolved.base_image,
        }
        return CheckResult(without_none(checked), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from pulumi_mlenv.policy import Action, decide
        from pulumi_mlenv.service import environments as envs

        if "hash" not in news:  # inputs unknown during preview
            return DiffResult(changes=True)
        decision = decide(
            olds,
            news,
            old_spec=envs.spec_from_state(olds["definition"], olds.get("base_digest")),
            new_spec=envs.spec_from_state(news["definition"], news.get("base_digest")),
            old_hash=olds["hash"],
            new_hash=news["hash"],
        )
        name = str(news.get("name"))
        for reason in decision.reasons:
            say(name, f"{decision.action.value}: {reason}")
        if decision.forced:
            _FORCED.add((name, str(news.get("rebuild_trigger"))))
            workspace = news.get("workspace") or self._settings_for(news).workspace_url
            shared = envs.versions_sharing(olds["hash"], workspace)
            say(
                name,
                f"forced rebuild of the image for hash {olds['hash'][:12]}; environment "
                f"versions sharing it: {', '.join(shared) or 'none'}. Unpinned packages may "
                "change; the old image stays pullable by digest.",
                warn=True,
            )
        return DiffResult(
            changes=decision.action is not Action.SAME,
            replaces=list(decision.replaces),
            stables=[],
            # A forced rebuild keeps name and version: release before registering again.
            delete_before_replace=decision.forced,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_mlenv.service import environments as envs

        settings = self._settings_for(props)
        spec = envs.spec_from_state(
            {**props["definition"], **self._metadata(props)}, props.get("base_digest")
        )
        resolved = envs.resolve_known(spec, props.get("base_image"))
        workspace = props.get("workspace") or settings.workspace_url
        result = envs.provision(
            resolved,
            settings=settings,
            workspace_url=workspace,
            force=(spec.name, str(props.get("rebuild_trigger"))) in _FORCED,
            holder=props.get("holder"),
        )
        name = spec.name
        verb = f"built in {result.build_seconds:.1f}s" if result.built else "reused"
        say(name, f"image {verb}: {result.image}")
        for warning in result.warnings:
            say(name, warning, warn=True)
        outs = self._outputs(props, resolved, result, workspace)
        return CreateResult(id_=f"{name}:{result.version}", outs=outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from pulumi_mlenv.service import environments as envs

        settings = self._settings_for(news)
        workspace = news.get("workspace") or settings.workspace_url
        # Inputs from news (a removed input must disappear), outputs from olds.
        outs = {**{k: v for k, v in olds.items() if k in _OUTPUTS}, **news}
        for key in _LOGIN_INPUTS:
            outs.pop(key, None)
        spec = envs.spec_from_state(
            {**news["definition"], **self._metadata(news)}, news.get("base_digest")
        )
        version = envs.relabel(
            spec,
            news["hash"],
            olds["image"],
            old=(olds["name"], olds["version"]),
            workspace_url=workspace,
            holder=news.get("holder"),
        )
        outs["version"] = version
        return UpdateResult(outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_mlenv.service import environments as envs

        inputs = {k: v for k, v in props.items() if k in _INPUT_KEYS}
        state = envs.image_state(
            props.get("image", ""), props.get("hash", ""), self._settings_for(props)
        )
        if state == "absent":
            say(
                str(props.get("name")),
                "image no longer in its registry: the next up rebuilds it",
                warn=True,
            )
            return ReadResult(id_="", outs={}, inputs={})
        if state.startswith("moved:"):
            say(
                str(props.get("name")),
                f"the tag of hash {props.get('hash', '')[:12]} now points to {state[6:]}"
                " (a forced rebuild elsewhere); this environment keeps its digest",
                warn=True,
            )
        return ReadResult(id_=id_, outs=props, inputs=inputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from pulumi_mlenv.service import environments as envs

        settings = self._settings_for(props)
        envs.retire(
            props["name"],
            props["version"],
            props.get("workspace") or settings.workspace_url,
            env_hash=props.get("hash"),
            holder=props.get("holder"),
        )

    @staticmethod
    def _metadata(props: Mapping[str, Any]) -> dict[str, Any]:
        """Metadata inputs in definition names (``requested_version`` -> ``version``)."""
        keys = ("name", "description", "tags", "environment_variables")
        meta = {k: props[k] for k in keys if props.get(k) is not None}
        if props.get("requested_version") is not None:
            meta["version"] = str(props["requested_version"])
        return meta

    @staticmethod
    def _outputs(
        props: Mapping[str, Any], resolved: Any, result: Any, workspace: str
    ) -> dict[str, Any]:
        outs = {k: v for k, v in props.items() if k not in _LOGIN_INPUTS}
        outs.update(
            workspace=workspace,
            image=result.image,
            version=result.version,
            kind="curated" if resolved.curated_name else resolved.spec.kind.value,
            is_curated=resolved.curated_name is not None,
            curated_name=resolved.curated_name,
            built=result.built,
            reused_from=None if result.built else result.registry,
            build_seconds=round(result.build_seconds, 3),
            lock=list(result.lock),
            unpinned=list(resolved.unpinned),
            shared_with=list(result.shared_with),
        )
        return without_none(outs)


_LOGIN_INPUTS = (
    "registry_username",
    "registry_password",
    "global_registry_username",
    "global_registry_password",
)
_OUTPUTS = (
    "hash",
    "image",
    "version",
    "kind",
    "is_curated",
    "curated_name",
    "built",
    "reused_from",
    "build_seconds",
    "lock",
    "unpinned",
    "base_digest",
    "shared_with",
)
_INPUT_KEYS = (
    "name",
    "requested_version",
    "description",
    "tags",
    "python",
    "docker",
    "spark",
    "environment_variables",
    "source",
    "curated",
    "workspace",
    "registry",
    "global_registry",
    "rebuild_trigger",
    "holder",
    *_LOGIN_INPUTS,
    *_DERIVED,
)


class Environment(Resource, module="mlenv", name="Environment"):
    """A machine-learning environment (R1): packages, base image, Docker
    steps, Spark packages and variables, versioned in a workspace and built
    into an image that is reused wherever its hash is the same.

    Give the definition inline (``python``, ``docker``, ``spark``), or
    ``source=`` a file or folder (our YAML, conda ``environment.yml``,
    ``requirements.txt``, Azure ML v2 YAML or v1 folder), or ``curated=`` a
    catalog name. Metadata inputs override a file's. ``rebuild_trigger``: any
    change forces a rebuild of the cached image (R18).
    """

    name: pulumi.Output[str]
    """The environment's name in the workspace."""
    hash: pulumi.Output[str]
    """sha256 of exactly what shapes the image (docs/hash.md)."""
    image: pulumi.Output[str]
    """The image by digest: ``<registry>/mlenv/env@sha256:...``."""
    version: pulumi.Output[str]
    kind: pulumi.Output[str]
    """``curated``, ``system-managed`` or ``user-managed``."""
    is_curated: pulumi.Output[bool]
    """True when the definition hashes like a curated catalog entry."""
    curated_name: pulumi.Output[str]
    built: pulumi.Output[bool]
    """False when an image with this hash was reused."""
    reused_from: pulumi.Output[str]
    build_seconds: pulumi.Output[float]
    lock: pulumi.Output[list[str]]
    """Exact installed versions (R16)."""
    unpinned: pulumi.Output[list[str]]
    base_digest: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        version: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        tags: pulumi.Input[Mapping[str, str]] | None = None,
        python: PythonArgs | None = None,
        docker: DockerArgs | None = None,
        spark: SparkArgs | None = None,
        environment_variables: pulumi.Input[Mapping[str, str]] | None = None,
        source: str | None = None,
        curated: str | None = None,
        workspace: Any = None,
        registry: Any = None,
        global_registry: Any = None,
        rebuild_trigger: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        import os

        props: dict[str, Any] = {
            # A file's or catalog entry's own name wins over the resource name.
            "name": name or (None if source or curated else resource_name),
            # The label asked for; the registered one is the `version` output.
            "requested_version": version,
            "description": description,
            "tags": tags,
            "python": python,
            "docker": docker,
            "spark": spark,
            "environment_variables": environment_variables,
            # Paths are resolved where the program runs; the hash covers content only.
            "source": os.path.abspath(source) if source else None,
            "curated": curated,
            "workspace": getattr(workspace, "url", workspace),
            "registry": getattr(registry, "address", registry),
            "global_registry": getattr(global_registry, "address", global_registry),
            "rebuild_trigger": rebuild_trigger,
            # Who holds the version in the workspace: this stack (a destroy
            # releases only its own hold).
            "holder": f"{pulumi.get_project()}/{pulumi.get_stack()}",
            **{k: None for k in _OUTPUTS},
        }
        # Registry logins (secrets) travel as inputs; never copied to outputs.
        for key, registry_arg in (("registry", registry), ("global_registry", global_registry)):
            username, password = getattr(registry_arg, "login", (None, None))
            props[f"{key}_username"], props[f"{key}_password"] = username, password
        super().__init__(
            EnvironmentProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["environment_variables"])
            ),
        )
