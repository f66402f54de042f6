"""The Environment resource: a definition whose hash decides, in preview,
whether its image is reused, its metadata updated, or a new image built.

Lifecycle (``policy.decide`` holds the diff policy):
- ``check``: inputs -> definition (bad input fails here, per property, and
  nothing is built or registered); the base tag is resolved to a digest
  (a base tag is resolved to a digest); the hash and the parsed definition are put into the checked
  inputs.
- ``diff``: replace on a new hash, with the reasons printed one per line;
  update for metadata only; else nothing.
- ``create``: reuse or build the image (the global registry first, then the workspace's), then
register the version (registered on first use).
- ``update``: metadata only: re-register under the new name/version if it changed.
- ``read`` (refresh): an image deleted from its registry drops the resource so
  that the next ``up`` rebuilds it; a registry that does not answer changes nothing.
- ``delete``: releases this stack's hold on the version (archived once
  nothing holds it, never deleted); never deletes an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

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
from pulumi_mlenv.definition import METADATA_FIELDS
from pulumi_mlenv.errors import MlenvError, Problem, SpecError
from pulumi_mlenv.policy.environment import HASH_INPUTS, INPUT_NAMES, METADATA_INPUTS
from pulumi_mlenv.resources._inflight import in_flight
from pulumi_mlenv.resources._provider import (
    MlenvProvider,
    failures_of,
    say,
    unknown,
    unwrap_pickler,
    without_none,
)
from pulumi_mlenv.service.resolved import STATE_KEYS, ResolvedEnvironment

if TYPE_CHECKING:
    from pulumi_mlenv.service.environments import Provisioned

__all__ = [
    "CondaArgs",
    "DockerArgs",
    "Environment",
    "EnvironmentProvider",
    "PythonArgs",
    "SparkArgs",
]

#: Where the environment goes: the workspace, registries, and the rebuild trigger.
_PLACEMENT_INPUTS = ("workspace", "registry", "global_registry", "rebuild_trigger", "holder")
#: Registry logins: secret inputs, never copied to outputs.
_LOGIN_INPUTS = (
    "registry_username",
    "registry_password",
    "global_registry_username",
    "global_registry_password",
)
#: What create and update add to the checked inputs.
_OUTPUTS = (
    "image",
    "version",
    "kind",
    "is_curated",
    "built",
    "reused_from",
    "build_seconds",
    "lock",
    "shared_with",
    "sbom",
    "provenance",
)


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
    #: A folder (relative to the program) the base Dockerfile copies from:
    #: its files are part of the hash.
    build_context: str


class SparkArgs(TypedDict, total=False):
    repositories: list[str]
    packages: list[dict[str, str]]
    precache_packages: bool


def _metadata(props: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata inputs under their definition names (``requested_version`` -> ``version``)."""
    names = {field: INPUT_NAMES.get(field, field) for field in METADATA_FIELDS}
    meta = {field: props[key] for field, key in names.items() if props.get(key) is not None}
    if "version" in meta:
        meta["version"] = str(meta["version"])
    return meta


def _resolved(props: Mapping[str, Any]) -> ResolvedEnvironment:
    """The value ``check`` stored in the checked inputs, read back once."""
    return ResolvedEnvironment.from_state(props, _metadata(props))


def _holds_credentials(value: Any) -> bool:
    """Whether a plain input value holds a URL with ``user:token@``."""
    from pulumi_mlenv.definition.text import has_url_credentials

    if isinstance(value, str):
        return has_url_credentials(value)
    if isinstance(value, Mapping):
        return any(_holds_credentials(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_credentials(v) for v in value)
    return False


def _for_build(props: Mapping[str, Any]) -> ResolvedEnvironment:
    """The stored value, with the URL credentials it needs for a build read
    again from the inputs (a secret ``python``/``spark`` input, or the
    ``source`` file): state never holds them in plain text."""
    from pulumi_mlenv.service import environments as envs
    from pulumi_mlenv.service.resolved import needs_credentials, with_credentials_from

    resolved = _resolved(props)
    if not needs_credentials(resolved.spec):
        return resolved
    inputs = {**{k: props.get(k) for k in HASH_INPUTS}, **_metadata(props)}
    return with_credentials_from(resolved, envs.definition_from_inputs(inputs))


class EnvironmentProvider(MlenvProvider):
    """Dynamic provider of ``pulumi-python:dynamic/mlenv:Environment``."""

    def _settings_for(self, props: Mapping[str, Any]) -> Settings:
        settings = self.settings(
            registry=props.get("registry"),
            global_registry=props.get("global_registry"),
            workspace_url=props.get("workspace"),
        )
        return settings.with_logins(
            (settings.registry, props.get("registry_username"), props.get("registry_password")),
            (
                settings.global_registry or "",
                props.get("global_registry_username"),
                props.get("global_registry_password"),
            ),
        )

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from pulumi_mlenv.service import environments as envs

        inputs = {k: v for k, v in news.items() if k not in STATE_KEYS and v is not None}
        definition_inputs = {
            **{k: inputs.get(k) for k in HASH_INPUTS},
            **_metadata(inputs),
        }
        if unknown(definition_inputs):
            return CheckResult(inputs, [])  # preview of a program whose inputs are not known yet
        settings = self._settings_for(inputs)
        try:
            spec = envs.definition_from_inputs(definition_inputs)
            resolved = envs.resolve(spec, settings, outside=self.io)
        except MlenvError as err:
            return CheckResult(inputs, failures_of(err, "docker", INPUT_NAMES, inputs))
        workspace = inputs.get("workspace") or settings.workspace_url
        if not unknown(workspace) and olds.get("hash") != resolved.hash:
            try:
                conflict = envs.check_version(resolved, workspace, outside=self.io)
            except MlenvError as err:
                conflict = Problem("workspace", str(err))
            if conflict:
                return CheckResult(inputs, failures_of(SpecError([conflict]), renames=INPUT_NAMES))
        checked = {**inputs, "name": resolved.spec.name, **resolved.state()}
        return CheckResult(without_none(checked), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from pulumi_mlenv.definition import explain
        from pulumi_mlenv.policy.environment import Action, decide
        from pulumi_mlenv.service import environments as envs

        if "hash" not in news:  # inputs unknown during preview
            return DiffResult(changes=True)
        decision = decide(
            olds,
            news,
            old_hash=olds["hash"],
            new_hash=news["hash"],
            explain=lambda: explain(_resolved(olds).spec, _resolved(news).spec),
        )
        name = str(news.get("name"))
        reasons = list(decision.reasons)
        if decision.replaces and not decision.forced and reasons:
            # What the replace will cost, told where it is decided (replaces only:
            # a no-change preview asks nothing more of the registry).
            cost = self._replace_cost(olds, news)
            reasons[-1] = f"{reasons[-1]} {cost}" if cost else reasons[-1]
        for reason in reasons:
            say(name, f"{decision.action.value}: {reason}")
        if decision.replaces and olds.get("lock"):
            from pulumi_mlenv.policy.lock_preview import pinned_lock_changes

            # What the rebuild's lock will have, where the pins say so.
            for change in pinned_lock_changes(olds["lock"], _resolved(news).spec):
                say(name, f"lock: {change} (pinned)")
        if decision.forced:
            envs.request_rebuild(name, str(news.get("rebuild_trigger")))
            workspace = news.get("workspace") or self._settings_for(news).workspace_url
            shared = envs.versions_sharing(olds["hash"], workspace, outside=self.io)
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

    def _replace_cost(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> str:
        from pulumi_mlenv.policy.lock_preview import predict_pins
        from pulumi_mlenv.service.build_cost import replace_cost

        settings = self._settings_for(news)
        workspace = news.get("workspace") or settings.workspace_url
        if unknown(workspace) or "definition" not in olds:
            return ""
        old, new, lock = _resolved(olds), _resolved(news), olds.get("lock") or ()
        prediction = predict_pins(lock, old.spec, new.spec)
        return replace_cost(
            old,
            lock,
            olds.get("image"),
            new,
            pins=prediction.pins,
            uncertain=prediction.uncertain,
            settings=settings,
            workspace_url=workspace,
            outside=self.io,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_mlenv.service import environments as envs

        settings = self._settings_for(props)
        resolved = _for_build(props)
        name = resolved.spec.name
        workspace = props.get("workspace") or settings.workspace_url
        # Should this process die mid-build, the program says what it was doing.
        with in_flight("Environment", name, "building") as earlier:
            for line in earlier:
                say(name, line, warn=True)
            result = envs.provision(
                resolved,
                settings=settings,
                workspace_url=workspace,
                force=envs.rebuild_requested(name, str(props.get("rebuild_trigger"))),
                holder=props.get("holder"),
                outside=self.io,
            )
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
        outs["version"] = envs.relabel(
            _resolved(news),
            olds["image"],
            old=(olds["name"], olds["version"]),
            workspace_url=workspace,
            holder=news.get("holder"),
            outside=self.io,
        )
        return UpdateResult(outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_mlenv.service import environments as envs

        inputs = {k: v for k, v in props.items() if k in _INPUT_KEYS}
        state = envs.image_state(
            props.get("image", ""),
            props.get("hash", ""),
            self._settings_for(props),
            outside=self.io,
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
            outside=self.io,
        )

    @staticmethod
    def _outputs(
        props: Mapping[str, Any],
        resolved: ResolvedEnvironment,
        result: Provisioned,
        workspace: str,
    ) -> dict[str, Any]:
        outs = {k: v for k, v in props.items() if k not in _LOGIN_INPUTS}
        outs.update(
            workspace=workspace,
            image=result.image,
            version=result.version,
            kind=resolved.kind,
            is_curated=resolved.curated_name is not None,
            built=result.built,
            reused_from=result.reused_from,
            build_seconds=round(result.build_seconds, 3),
            lock=list(result.lock),
            shared_with=list(result.shared_with),
            sbom=result.sbom,
            provenance=result.provenance,
        )
        return without_none(outs)


#: Every input property (inputs a refresh reads back).
_INPUT_KEYS = (
    *METADATA_INPUTS,
    *HASH_INPUTS,
    *_PLACEMENT_INPUTS,
    *_LOGIN_INPUTS,
    *STATE_KEYS,
)


#: Outputs the program may read (``Environment.<name>``, docs/resources.md):
#: always passed, so that the attribute exists before the value is known.
_OUTPUT_ATTRIBUTES = frozenset(
    (*_OUTPUTS, "name", "hash", "curated_name", "definition_hash", "unpinned", "base_digest")
)


class Environment(Resource, module="mlenv", name="Environment"):
    """A machine-learning environment (everything a script needs): packages, base image, Docker
    steps, Spark packages and variables, versioned in a workspace and built
    into an image that is reused wherever its hash is the same.

    Give the definition inline (``python``, ``docker``, ``spark``), or
    ``source=`` a file or folder (our YAML, conda ``environment.yml``,
    ``requirements.txt``, Azure ML v2 YAML or v1 folder), or ``curated=`` a
    catalog name. Metadata inputs override a file's. ``rebuild_trigger``: any
    change forces a rebuild of the cached image (an explicit forced rebuild).
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
    definition_hash: pulumi.Output[str]
    """The hash of the definition as written (``mlenv env hash FILE``);
    ``hash`` adds the digest its base tag resolved to."""
    built: pulumi.Output[bool]
    """False when an image with this hash was reused."""
    reused_from: pulumi.Output[str]
    build_seconds: pulumi.Output[float]
    lock: pulumi.Output[list[str]]
    """Exact installed versions (unpinned packages keep the first build's)."""
    unpinned: pulumi.Output[list[str]]
    base_digest: pulumi.Output[str]
    sbom: pulumi.Output[str]
    """The image's SBOM (CycloneDX JSON), an OCI referrer by digest:
    ``<registry>/mlenv/env@sha256:...`` (docs/supply-chain.md)."""
    provenance: pulumi.Output[str]
    """The image's provenance (in-toto statement, SLSA v1), by digest."""

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
            **{k: None for k in (*_OUTPUTS, *STATE_KEYS)},
        }
        # A token written in an index URL makes its section a secret in state.
        for section in ("python", "spark"):
            if _holds_credentials(props[section]):
                props[section] = pulumi.Output.secret(props[section])
        # Registry logins (secrets) travel as inputs; never copied to outputs.
        for key, registry_arg in (("registry", registry), ("global_registry", global_registry)):
            username, password = getattr(registry_arg, "login", (None, None))
            props[f"{key}_username"], props[f"{key}_password"] = username, password
        # An input left out is sent as nothing either way; dropping it here
        # spares the SDK an output and its futures per property (a preview of
        # 1,000 environments pays that per resource). Declared outputs stay.
        props = {k: v for k, v in props.items() if v is not None or k in _OUTPUT_ATTRIBUTES}
        unwrap_pickler()  # the SDK's pickler wrappers nest per resource
        super().__init__(
            EnvironmentProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(additional_secret_outputs=["environment_variables"]),
            ),
        )
