"""The environment use cases: from a resource's inputs (or a file) to a
resolved definition, then to an image and a registered version (registered on first use).

Each use case opens the workspace once, and closes it. The Pulumi provider
in ``resources/`` and the CLI only translate to and from these calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pulumi_mlenv import definition as specs  # the curated catalog loads on first use
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    IDENTITY_FIELDS,
    METADATA_FIELDS,
    EnvironmentSpec,
    fingerprint_build_context,
    load_definition,
    parse_definition,
    to_dict,
)
from pulumi_mlenv.definition.variables import WITHHELD
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.environment_versions import (
    check_version,
    register,
    register_for_host,
    relabel,
    retire,
    versions_of,
    versions_sharing,
)
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.rebuilds import (
    forced_rebuild_message,
    rebuild_requested,
    request_rebuild,
)
from pulumi_mlenv.service.resolved import (
    ResolvedEnvironment,
    resolve,
    resolve_known,
)

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.service.images import EnsureResult
    from pulumi_mlenv.service.outside import EnvironmentStore
    from pulumi_mlenv.service.supply import Attestations
    from pulumi_mlenv.workspace import VersionRecord

__all__ = [
    "WITHHELD",
    "Provisioned",
    "Resolved",
    "check_version",
    "definition_from_inputs",
    "forced_rebuild_message",
    "image_state",
    "provision",
    "rebuild_requested",
    "register_for_host",
    "relabel",
    "request_rebuild",
    "resolve",
    "resolve_known",
    "retire",
    "reuse_registered",
    "versions_sharing",
]

#: The name this value had before it carried both hashes; kept for callers.
Resolved = ResolvedEnvironment


def _present(inputs: Mapping[str, Any], key: str) -> bool:
    value = inputs.get(key)
    return value is not None and value != {} and value != []


def definition_from_inputs(inputs: Mapping[str, Any]) -> EnvironmentSpec:
    """The definition the inputs describe: inline sections, ``source=`` a file
    or folder of any supported format, or ``curated=`` a catalog name.
    Metadata inputs (name, version, description, tags, environment variables)
    override the file's. Raises ``SpecError`` with property paths."""
    source, curated = inputs.get("source"), inputs.get("curated")
    inline = [k for k in IDENTITY_FIELDS if _present(inputs, k)]
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
        base = to_dict(specs.get_curated(str(curated)))
    else:
        base = {k: inputs[k] for k in IDENTITY_FIELDS if _present(inputs, k)}
    data = dict(base)
    for key in METADATA_FIELDS:
        if _present(inputs, key):
            data[key] = inputs[key]
    if data.get("version") is not None:
        data["version"] = str(data["version"])
    # A build context is read here, where the program's files are.
    return fingerprint_build_context(parse_definition(data, source=str(source or "")))


@dataclass(frozen=True, slots=True)
class Provisioned:
    """The result of ``provision``: the image by digest and the version.

    ``reused_from`` names the registry a reused image came from (``global``
    or ``workspace``), None when it was built; ``shared_with`` the other
    versions whose image has the same hash.
    """

    image: str
    version: str
    built: bool
    reused_from: str | None
    build_seconds: float
    lock: tuple[str, ...]
    warnings: tuple[str, ...]
    shared_with: tuple[str, ...]
    #: The image's SBOM and provenance referrers, by digest (None without
    #: a registry that takes artifacts).
    sbom: str | None = None
    provenance: str | None = None


def _sharing(workspace: EnvironmentStore, env_hash: str, this: str) -> tuple[str, ...]:
    """The other versions (``NAME:VERSION``) that share this image hash."""
    return tuple(v for v in versions_of(workspace, env_hash) if v != this)


def reuse_registered(
    resolved: ResolvedEnvironment,
    *,
    settings: Settings,
    workspace_url: str,
    outside: Outside | None = None,
) -> Provisioned | None:
    """``provision`` of a version registered already, exactly so, at the
    image the workspace registry has for its hash: the image is checked in
    the registry (one lookup) and the workspace read, nothing is written
    (its hold tag was published when the version first pointed at it).
    None when ``provision`` must run: a new or changed version, another
    image, a global registry (asked first), a workspace this read cannot open."""
    from pulumi_mlenv.service.images import ENV_REPOSITORY
    from pulumi_mlenv.service.resolved import definition_state

    if settings.global_registry:
        return None
    io = outside_or_real(outside)
    spec = resolved.spec
    found = io.quick_version(
        workspace_url, spec.name, resolved.hash, spec.version, definition_state(spec)
    )
    if found is None or not found[1]:
        return None
    version, image, lock = found
    with io.registry(settings.registry, settings) as client:
        repository = client.repository_for(ENV_REPOSITORY)
        digest = client.digest_of(repository, resolved.hash)
        if digest is None or image != f"{client.host}/{repository}@{digest}":
            return None
    return Provisioned(
        image=image,
        version=version,
        built=False,
        reused_from="workspace",
        build_seconds=0.0,
        lock=lock,
        warnings=(),
        shared_with=(),
    )


def provision(
    resolved: ResolvedEnvironment,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    force: bool = False,
    progress: Callable[[StepEvent], None] | None = None,
    holder: str | None = None,
    outside: Outside | None = None,
) -> Provisioned:
    """Ensure the image (reused by hash, the global registry first, then the
    workspace's; else built), then register the version (on first use), held
    by ``holder`` (``project/stack``). A new name with a known hash builds
    nothing. A failed build raises before anything is registered. A forced
    rebuild keeps the version (number, hash, definition) at the new digest.
    ``workspace_url`` defaults to the settings' workspace."""
    from pulumi_mlenv.service.images import ensure_image  # not needed by host runs
    from pulumi_mlenv.workspace import Holder

    started = datetime.now(UTC).isoformat(timespec="seconds")
    io = outside_or_real(outside)
    workspace_url = workspace_url or settings.workspace_url
    with io.workspace(workspace_url) as workspace:
        result = ensure_image(
            resolved,
            settings=settings,
            workspace=workspace,
            force=force,
            progress=progress,
            outside=io,
        )
        # A digest a version here already points at has its hold tag (written
        # then, and by every gc): a cache hit asks the registry nothing more.
        held_before = result.image in {v.image for v in workspace.versions_for_hash(resolved.hash)}
        record = register(
            workspace, resolved, result.image, Holder.stack(holder) if holder else None
        )
        shared = _sharing(workspace, resolved.hash, f"{record.name}:{record.version}")
    warnings = list(result.warnings)
    attested = _attest(result, resolved, record, settings, io, started=started, warnings=warnings)
    if not held_before:
        _publish_hold(result.image, settings, workspace_url, io, warnings)
    if result.forced:
        warnings.append(forced_rebuild_message(resolved.hash, result))
    return Provisioned(
        image=result.image,
        version=record.version,
        built=result.built,
        reused_from=result.reused_from,
        build_seconds=result.seconds,
        lock=tuple(result.lock),
        warnings=tuple(warnings),
        shared_with=shared,
        sbom=attested.sbom,
        provenance=attested.provenance,
    )


def _attest(
    result: EnsureResult,
    resolved: ResolvedEnvironment,
    record: VersionRecord,
    settings: Settings,
    io: Outside,
    *,
    started: str,
    warnings: list[str],
) -> Attestations:
    """What is in the image and how it was made, attached beside it (once).
    A curated image in a registry this login may only pull from gets none:
    a warning says so."""
    from pulumi_mlenv.errors import RegistryError
    from pulumi_mlenv.service.supply import Attestations, attest

    try:
        return attest(
            result,
            resolved,
            f"{record.name}:{record.version}",
            settings=settings,
            outside=io,
            started=started,
        )
    except RegistryError as err:
        if result.reused_from != "global":
            raise
        warnings.append(f"no SBOM or provenance attached to the curated image: {err}")
        return Attestations(None, None)


def _publish_hold(
    image: str, settings: Settings, workspace_url: str, io: Outside, warnings: list[str]
) -> None:
    """Other workspaces sharing the registry see that this one needs the digest."""
    from pulumi_mlenv.service.holds import publish as publish_hold

    held = publish_hold(
        image, "version", settings=settings, workspace_url=workspace_url, outside=io
    )
    if held:
        warnings.append(held)


def image_state(
    image: str, env_hash: str, settings: Settings, *, outside: Outside | None = None
) -> str:
    """For refresh: ``present``, ``absent`` (deleted from its registry),
    ``moved:<digest>`` (the hash's tag points elsewhere now) or ``unknown``
    (the registry did not answer: never a reason to drop state). Uses the
    settings' login for the image's registry."""
    from pulumi_mlenv.errors import RegistryError
    from pulumi_mlenv.registry import ImageRef

    io = outside_or_real(outside)
    try:
        ref = ImageRef.parse(image)
        with io.registry(ref.registry, settings) as client:
            if ref.digest is None or client.digest_of(ref.repository, ref.digest) is None:
                return "absent"
            tagged = client.digest_of(ref.repository, env_hash) if env_hash else None
    except (RegistryError, ValueError):
        return "unknown"
    if tagged and tagged != ref.digest:
        return f"moved:{tagged}"
    return "present"
