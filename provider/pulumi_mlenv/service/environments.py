"""Use cases of the Environment resource and the CLI: from inputs to a
resolved definition, then to an image and a registered version.

This is the service's environment side; it combines spec (what),
registry (R17 base digests), build (``service.ensure_image``) and workspace
(versions). The Pulumi provider in ``resources/`` only translates properties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import Problem, SpecError
from pulumi_mlenv.spec import (
    EnvironmentSpec,
    compute_hash,
    curated_name,
    get_curated,
    load_definition,
    parse_definition,
    to_dict,
    unpinned_packages,
    with_resolved_base,
)

__all__ = [
    "Provisioned",
    "Resolved",
    "check_version",
    "definition_from_inputs",
    "image_state",
    "provision",
    "relabel",
    "resolve",
    "resolve_known",
    "retire",
    "spec_from_state",
    "to_state",
    "versions_sharing",
]

#: Inputs that may override a definition read from ``source=`` or ``curated=``.
_METADATA = ("name", "version", "description", "tags", "environment_variables")
_SECTIONS = ("python", "docker", "spark")


def _present(inputs: Mapping[str, Any], key: str) -> bool:
    value = inputs.get(key)
    return value is not None and value != {} and value != []


def definition_from_inputs(inputs: Mapping[str, Any]) -> EnvironmentSpec:
    """The definition the inputs describe: inline fields, ``source=`` a file or
    folder of any supported format, or ``curated=`` a catalog name. Metadata
    inputs (name, version, description, tags, environment variables) override
    the file's. Raises ``SpecError`` with property paths."""
    source, curated = inputs.get("source"), inputs.get("curated")
    inline = [k for k in _SECTIONS if _present(inputs, k)]
    if source and curated:
        raise SpecError.at("source", "give source= or curated=, not both", "drop one of them")
    if (source or curated) and inline:
        which = "source" if source else "curated"
        raise SpecError.at(
            inline[0],
            f"inline definition fields cannot be combined with {which}=",
            f"put the change in the definition file, or drop {which}= and give every field",
        )
    if source:
        base = to_dict(load_definition(str(source)))
    elif curated:
        base = to_dict(get_curated(str(curated)))
    else:
        base = {k: inputs[k] for k in _SECTIONS if _present(inputs, k)}
    data = dict(base)
    for key in _METADATA:
        if _present(inputs, key):
            data[key] = inputs[key]
    if data.get("version") is not None:
        data["version"] = str(data["version"])
    return parse_definition(data, source=str(source or ""))


@dataclass(frozen=True, slots=True)
class Resolved:
    """A definition with its base tag resolved (R17) and its hash."""

    spec: EnvironmentSpec
    hash: str
    base_image: str | None
    curated_name: str | None
    unpinned: tuple[str, ...]


def resolve(spec: EnvironmentSpec, settings: Settings) -> Resolved:
    """Resolve the base image tag to a digest and hash the result.

    One registry request per distinct tag per process at most (the registry
    room caches answers); a pinned ``image@sha256:...`` needs none.
    Raises ``RegistryError`` when the tag can be resolved nowhere.
    """
    from pulumi_mlenv.service.images import base_image_of, with_base_digest

    resolved = with_base_digest(spec, settings)
    return resolve_known(resolved, base_image_of(resolved, settings))


def spec_from_state(definition: Mapping[str, Any], base_digest: str | None) -> EnvironmentSpec:
    """The definition recorded in state by ``to_state``, parsed back."""
    return with_resolved_base(parse_definition(definition), base_digest)


def to_state(spec: EnvironmentSpec) -> dict[str, Any]:
    """The definition as plain values for Pulumi state (no resolved digest:
    that is stored beside it)."""
    return to_dict(replace(spec, environment_variables=()))


@dataclass(frozen=True, slots=True)
class Provisioned:
    """The result of ``provision``: the image by digest and the version."""

    image: str
    version: str
    built: bool
    registry: str
    build_seconds: float
    lock: tuple[str, ...]
    warnings: tuple[str, ...]
    shared_with: tuple[str, ...]


def provision(
    resolved: Resolved,
    *,
    settings: Settings,
    workspace_url: str,
    force: bool = False,
    progress: Callable[[Any], None] | None = None,
) -> Provisioned:
    """Ensure the image (reuse by hash or build, R14) then register the
    version in the workspace (R6). A new name with a known hash builds nothing
    (R13, R15). A failed build raises before anything is registered.
    ``progress`` receives the build's step events (``imaging.buildkit.StepEvent``)."""
    from pulumi_mlenv.service.images import ensure_image
    from pulumi_mlenv.workspace import Workspace

    workspace = Workspace(workspace_url)
    result = ensure_image(
        resolved.spec, settings=settings, workspace=workspace, force=force, progress=progress
    )
    spec = resolved.spec
    current = workspace.get_version(spec.name, spec.version) if spec.version else None
    if (
        current is not None
        and current.env_hash != resolved.hash
        and _as_written(current.definition) == _as_written(to_state(spec))
    ):
        # The same definition rebuilt on a moved base tag or a new recipe: the
        # version follows its definition to the new image (the old one stays
        # pullable by digest and recorded under its hash).
        workspace.unregister_version(current.name, current.version)
    record = workspace.register_version(
        spec.name,
        resolved.hash,
        version=spec.version,
        image=result.image,
        definition=to_state(spec),
        description=spec.description,
        tags=spec.tags,
        environment_variables=spec.environment_variables,
    )
    shared = tuple(
        f"{v.name}:{v.version}"
        for v in workspace.versions_for_hash(resolved.hash)
        if (v.name, v.version) != (record.name, record.version)
    )
    warnings = list(result.warnings)
    if result.forced:
        warnings.append(
            f"forced rebuild: tag {resolved.hash[:12]} moved from {result.previous_digest} "
            f"(still pullable by digest) to {result.digest}; versions sharing this hash: "
            + (", ".join(result.shared_versions) or "none")
            + "; package changes: "
            + (", ".join(result.lock_changes) or "none")
        )
    return Provisioned(
        image=result.image,
        version=record.version,
        built=result.built,
        registry=result.source,
        build_seconds=result.seconds,
        lock=tuple(result.lock),
        warnings=tuple(warnings),
        shared_with=shared,
    )


def check_version(resolved: Resolved, workspace_url: str) -> Problem | None:
    """An explicit version already registered with another definition is an
    error (versions are immutable); None when the version is free or the same."""
    from pulumi_mlenv.workspace import Workspace

    spec = resolved.spec
    if spec.version is None:
        return None
    existing = Workspace(workspace_url).get_version(spec.name, spec.version)
    if existing is None or existing.env_hash == resolved.hash:
        return None
    if _as_written(existing.definition) == _as_written(to_state(spec)):
        return None  # the same definition; its base tag moved or the recipe changed (R17)
    return Problem(
        "version",
        f"environment '{spec.name}' version {spec.version} is already registered with "
        f"another definition (hash {existing.env_hash[:12]}, this one {resolved.hash[:12]})",
        "give a new version, or leave version unset to get the next number",
    )


def versions_sharing(env_hash: str, workspace_url: str) -> list[str]:
    """``name:version`` of every registered version whose image has this hash."""
    from pulumi_mlenv.workspace import Workspace

    return [f"{v.name}:{v.version}" for v in Workspace(workspace_url).versions_for_hash(env_hash)]


def _as_written(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a stored definition that shape the image, as the user wrote them."""
    metadata = ("name", "version", "description", "tags", "environment_variables")
    return {k: v for k, v in definition.items() if k not in metadata}


def retire(name: str, version: str, workspace_url: str, env_hash: str | None = None) -> bool:
    """Unregister a version, only if it still maps to ``env_hash`` (when given):
    a replacement that kept the name and version has re-registered it already.
    Images are never deleted: they are shared by content
    (pulumi/pulumi-docker-build#606) and old digests stay pullable."""
    from pulumi_mlenv.workspace import Workspace

    workspace = Workspace(workspace_url)
    current = workspace.get_version(name, version)
    if current is None or (env_hash is not None and current.env_hash != env_hash):
        return False
    return workspace.unregister_version(name, version)


def resolve_known(spec: EnvironmentSpec, base_image: str | None) -> Resolved:
    """A ``Resolved`` for a definition whose base digest is already in it
    (from the checked inputs): no registry request."""
    return Resolved(
        spec=spec,
        hash=compute_hash(spec),
        base_image=base_image,
        curated_name=curated_name(spec),
        unpinned=tuple(unpinned_packages(spec)),
    )


def relabel(
    spec: EnvironmentSpec,
    env_hash: str,
    image: str,
    *,
    old: tuple[str, str],
    workspace_url: str,
) -> str:
    """Metadata-only change: the image stays. A new name or version label is
    registered and the old one unregistered; otherwise the version's
    description, tags and variables are updated. Returns the version."""
    from pulumi_mlenv.workspace import Workspace

    workspace = Workspace(workspace_url)
    old_name, old_version = old
    if spec.name == old_name and spec.version in (None, old_version):
        workspace.update_version_metadata(
            old_name,
            old_version,
            description=spec.description,
            tags=spec.tags,
            environment_variables=spec.environment_variables,
            definition=to_state(spec),
        )
        return old_version
    record = workspace.register_version(
        spec.name,
        env_hash,
        version=spec.version,
        image=image,
        definition=to_state(spec),
        description=spec.description,
        tags=spec.tags,
        environment_variables=spec.environment_variables,
    )
    workspace.unregister_version(old_name, old_version)
    return record.version


def image_state(image: str, env_hash: str, settings: Settings) -> str:
    """For refresh: ``present``, ``absent`` (deleted from its registry),
    ``moved:<digest>`` (the hash's tag points elsewhere now) or ``unknown``
    (the registry did not answer: never a reason to drop state)."""
    from pulumi_mlenv.errors import RegistryError
    from pulumi_mlenv.registry import ImageRef, RegistryClient

    try:
        ref = ImageRef.parse(image)
        client = RegistryClient(ref.registry, ca_bundle=settings.ca_bundle)
        if ref.digest is None or client.digest_of(ref.repository, ref.digest) is None:
            return "absent"
        tagged = client.digest_of(ref.repository, env_hash) if env_hash else None
    except (RegistryError, ValueError):
        return "unknown"
    if tagged and tagged != ref.digest:
        return f"moved:{tagged}"
    return "present"
