"""The environment use cases: from a resource's inputs (or a file) to a
resolved definition, then to an image and a registered version (registered on first use).

Each use case opens the workspace once, and closes it. The Pulumi provider
in ``resources/`` and the CLI only translate to and from these calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    IDENTITY_FIELDS,
    METADATA_FIELDS,
    EnvironmentSpec,
    fingerprint_build_context,
    get_curated,
    load_definition,
    parse_definition,
    to_dict,
)
from pulumi_mlenv.definition.variables import WITHHELD, kept
from pulumi_mlenv.errors import Problem, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.holds import publish as publish_hold
from pulumi_mlenv.service.images import EnsureResult, ensure_image
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.resolved import (
    ResolvedEnvironment,
    as_written,
    definition_state,
    resolve,
    resolve_known,
)

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.buildkit import StepEvent

__all__ = [
    "WITHHELD",
    "Provisioned",
    "Resolved",
    "check_version",
    "definition_from_inputs",
    "image_state",
    "provision",
    "register_for_host",
    "relabel",
    "request_rebuild",
    "resolve",
    "resolve_known",
    "retire",
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
        base = to_dict(get_curated(str(curated)))
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


def _names_only(spec: EnvironmentSpec) -> tuple[tuple[str, str], ...]:
    """The environment's variables for the workspace: values, except a secret
    one, kept as a reference ``${env:NAME}`` (definition/variables.py)."""
    return kept(spec.environment_variables)


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
    """Ensure the image (reuse by hash or build, the global registry first, then the workspace's)
    then register the
    version in the workspace (registered on first use), held by ``holder`` (``project/stack``). A
    new name with a known hash builds nothing (reuse by hash; names and versions do not change the
    hash). A failed build
    raises before anything is registered. A forced rebuild keeps the version:
    same number, hash and definition, now at the new digest.
    ``workspace_url`` defaults to the settings' workspace."""
    from datetime import UTC, datetime

    from pulumi_mlenv.errors import RegistryError
    from pulumi_mlenv.service.supply import Attestations, attest
    from pulumi_mlenv.workspace import Holder

    started = datetime.now(UTC).isoformat(timespec="seconds")
    io = outside_or_real(outside)
    spec = resolved.spec
    with io.workspace(workspace_url or settings.workspace_url) as workspace:
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
        held_before = any(
            v.image == result.image for v in workspace.versions_for_hash(resolved.hash)
        )
        record = workspace.register_version(
            spec.name,
            resolved.hash,
            version=spec.version,
            image=result.image,
            definition=definition_state(spec),
            description=spec.description,
            tags=spec.tags,
            environment_variables=_names_only(spec),
            holder=Holder.stack(holder) if holder else None,
        )
        shared = tuple(
            f"{v.name}:{v.version}"
            for v in workspace.versions_for_hash(resolved.hash)
            if (v.name, v.version) != (record.name, record.version)
        )
    # What is in the image and how it was made, attached beside it (once).
    warnings = list(result.warnings)
    try:
        attested = attest(
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
        # A curated image in a registry this login may only pull from.
        attested = Attestations(None, None)
        warnings.append(f"no SBOM or provenance attached to the curated image: {err}")
    # Other workspaces sharing the registry see that this one needs the digest.
    held = None
    if not held_before:
        held = publish_hold(
            result.image,
            "version",
            settings=settings,
            workspace_url=workspace_url or settings.workspace_url,
            outside=io,
        )
    if held:
        warnings.append(held)
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


def register_for_host(
    resolved: ResolvedEnvironment,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    outside: Outside | None = None,
) -> tuple[str, str, tuple[str, ...]]:
    """Register the version for a run on the host: no image is built or
    pushed, and no registry or builder is asked. The version points at the
    image its hash already has in the workspace (empty when none yet: a
    docker run of it builds one). Returns ``(version, image, lock)``."""
    spec = resolved.spec
    with outside_or_real(outside).workspace(workspace_url or settings.workspace_url) as workspace:
        known = workspace.find_image(resolved.hash)
        current = workspace.get_version(spec.name, spec.version) if spec.version else None
        image = known.image if known is not None else (current.image if current else "")
        record = workspace.register_version(
            spec.name,
            resolved.hash,
            version=spec.version,
            image=image,
            definition=definition_state(spec),
            description=spec.description,
            tags=spec.tags,
            environment_variables=_names_only(spec),
        )
    return record.version, record.image, tuple(known.lock) if known is not None else ()


def check_version(
    resolved: ResolvedEnvironment, workspace_url: str, *, outside: Outside | None = None
) -> Problem | None:
    """An explicit version already registered with another definition is an
    error (versions are immutable); None when the version is free or the same."""
    spec = resolved.spec
    if spec.version is None:
        return None
    with outside_or_real(outside).workspace(workspace_url) as workspace:
        existing = workspace.get_version(spec.name, spec.version)
    if existing is None or existing.env_hash == resolved.hash:
        return None
    if as_written(existing.definition) == as_written(definition_state(spec)):
        # A version always means one hash: a moved base tag makes a new one.
        return Problem(
            "version",
            f"environment '{spec.name}' version {spec.version} is registered with hash "
            f"{existing.env_hash[:12]}; the same definition now hashes to {resolved.hash[:12]} "
            "because its base image tag points to another image (or the build recipe changed)",
            "give a new version, pin the base image by digest (image@sha256:...), "
            "or leave version unset to get the next number",
        )
    return Problem(
        "version",
        f"environment '{spec.name}' version {spec.version} is already registered with "
        f"another definition (hash {existing.env_hash[:12]}, this one {resolved.hash[:12]})",
        "give a new version, or leave version unset to get the next number",
    )


def versions_sharing(
    env_hash: str, workspace_url: str, *, outside: Outside | None = None
) -> list[str]:
    """``name:version`` of every registered version whose image has this hash."""
    with outside_or_real(outside).workspace(workspace_url) as workspace:
        return [f"{v.name}:{v.version}" for v in workspace.versions_for_hash(env_hash)]


def retire(
    name: str,
    version: str,
    workspace_url: str,
    env_hash: str | None = None,
    *,
    holder: str | None = None,
    outside: Outside | None = None,
) -> bool:
    """Release ``holder``'s hold (``project/stack``) on a version that still
    maps to ``env_hash`` (when given); the version is archived, never
    deleted, once nothing holds it. Returns True when it is archived now.
    Images are never deleted here: they are shared by content
    (pulumi/pulumi-docker-build#606); ``mlenv gc`` deletes the images no
    version and no holder uses."""
    from pulumi_mlenv.workspace import Holder

    with outside_or_real(outside).workspace(workspace_url) as workspace:
        current = workspace.get_version(name, version)
        if current is None or (env_hash is not None and current.env_hash != env_hash):
            return False
        after = workspace.release(name, version, Holder.stack(holder) if holder else None)
        return after is not None and after.archived_at is not None


def relabel(
    resolved: ResolvedEnvironment,
    image: str,
    *,
    old: tuple[str, str],
    workspace_url: str,
    holder: str | None = None,
    outside: Outside | None = None,
) -> str:
    """Metadata-only change: the image stays. A new name or version label is
    registered (held by ``holder``) and ``holder``'s hold on the old one
    released (archived when unheld); otherwise the version's description,
    tags and variables are updated. Returns the version."""
    from pulumi_mlenv.workspace import Holder

    held = Holder.stack(holder) if holder else None
    spec = resolved.spec
    old_name, old_version = old
    with outside_or_real(outside).workspace(workspace_url) as workspace:
        if spec.name == old_name and spec.version in (None, old_version):
            workspace.update_version_metadata(
                old_name,
                old_version,
                description=spec.description,
                tags=spec.tags,
                environment_variables=_names_only(spec),
                definition=definition_state(spec),
            )
            if held:  # a resource made before holders were recorded takes its hold now
                workspace.hold(old_name, old_version, held)
            return old_version
        record = workspace.register_version(
            spec.name,
            resolved.hash,
            version=spec.version,
            image=image,
            definition=definition_state(spec),
            description=spec.description,
            tags=spec.tags,
            environment_variables=_names_only(spec),
            holder=held,
        )
        workspace.release(old_name, old_version, held)
        return record.version


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


# Forced rebuilds decided by ``diff``, as (name, rebuild_trigger), taken by
# ``create``. The Pulumi engine re-runs ``check`` with empty old inputs before
# creating a replacement, so no input can carry "forced" from the diff to the
# create (pulumi-notes.md); both run in one provider process during an update,
# and a preview's decisions die with its process.
_rebuilds: set[tuple[str, str]] = set()
_rebuilds_lock = threading.Lock()


def request_rebuild(name: str, trigger: str) -> None:
    """Remember that the environment ``name`` must be rebuilt for ``trigger``."""
    with _rebuilds_lock:
        _rebuilds.add((name, trigger))


def rebuild_requested(name: str, trigger: str) -> bool:
    """True when ``request_rebuild(name, trigger)`` was called in this process."""
    with _rebuilds_lock:
        return (name, trigger) in _rebuilds


def forced_rebuild_message(env_hash: str, result: EnsureResult) -> str:
    """What a forced rebuild says: where the hash's tag went, or that the
    rebuild gave the same digest (a reproducible build: nothing moved)."""
    if result.previous_digest is None:
        head = f"forced rebuild: {env_hash[:12]} built from scratch: {result.digest}"
    elif result.previous_digest == result.digest:
        head = (
            f"forced rebuild: {env_hash[:12]} rebuilt from scratch gave the same digest "
            f"{result.digest} (a reproducible build); its tag did not move"
        )
    else:
        head = (
            f"forced rebuild: tag {env_hash[:12]} moved from {result.previous_digest} "
            f"(still pullable by digest) to {result.digest}"
        )
    return (
        head
        + "; versions sharing this hash: "
        + (", ".join(result.shared_versions) or "none")
        + "; package changes: "
        + (", ".join(result.lock_changes) or "none")
    )
