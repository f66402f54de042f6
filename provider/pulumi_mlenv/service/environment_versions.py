"""Environment versions in the workspace, apart from building: a version
registered (for a host run, or beside an image), an explicit version checked
against what it already means, the versions sharing a hash, a hold released
(archived when nothing holds it), and a metadata-only change. One workspace
session per use case, closed when it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi_mlenv.definition import EnvironmentSpec
from pulumi_mlenv.definition.variables import kept
from pulumi_mlenv.errors import Problem
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment, as_written, definition_state

if TYPE_CHECKING:
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.service.outside import EnvironmentStore
    from pulumi_mlenv.workspace import Holder, VersionRecord

__all__ = [
    "check_version",
    "register",
    "register_for_host",
    "register_spec",
    "relabel",
    "retire",
    "versions_of",
    "versions_sharing",
]


def names_only(spec: EnvironmentSpec) -> tuple[tuple[str, str], ...]:
    """The environment's variables for the workspace: values, except a secret
    one, kept as a reference ``${env:NAME}`` (definition/variables.py)."""
    return kept(spec.environment_variables)


def register(
    workspace: EnvironmentStore,
    resolved: ResolvedEnvironment,
    image: str,
    holder: Holder | None = None,
) -> VersionRecord:
    """Register ``resolved`` at ``image`` (a new version, or the one its
    definition already has), held by ``holder`` when given."""
    return register_spec(workspace, resolved.spec, resolved.hash, image, holder)


def register_spec(
    workspace: EnvironmentStore,
    spec: EnvironmentSpec,
    env_hash: str,
    image: str,
    holder: Holder | None = None,
    definition: dict[str, Any] | None = None,
) -> VersionRecord:
    """``register`` for a definition whose hash is known (``definition``: its
    state, when already computed)."""
    return workspace.register_version(
        spec.name,
        env_hash,
        version=spec.version,
        image=image,
        definition=definition if definition is not None else definition_state(spec),
        description=spec.description,
        tags=spec.tags,
        environment_variables=names_only(spec),
        holder=holder,
    )


def register_for_host(
    spec: EnvironmentSpec,
    env_hash: str,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    outside: Outside | None = None,
) -> tuple[str, str, tuple[str, ...]]:
    """Register the version for a run on the host: no image is built or
    pushed, and no registry or builder is asked. The version points at the
    image its hash already has in the workspace (empty when none yet: a
    docker run of it builds one). ``spec`` has its base resolved
    (``with_base_resolved``) and hashes to ``env_hash``. Returns ``(version,
    image, lock)``."""
    io = outside_or_real(outside)
    url = workspace_url or settings.workspace_url
    definition = definition_state(spec)
    # Registered already, exactly so: a read answers, nothing is written.
    unchanged = io.quick_version(url, spec.name, env_hash, spec.version, definition)
    if unchanged is not None:
        return unchanged
    with io.workspace(url) as workspace:
        known = workspace.find_image(env_hash)
        current = workspace.get_version(spec.name, spec.version) if spec.version else None
        image = known.image if known is not None else (current.image if current else "")
        record = register_spec(workspace, spec, env_hash, image, definition=definition)
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
        return versions_of(workspace, env_hash)


def versions_of(workspace: EnvironmentStore, env_hash: str) -> list[str]:
    """``name:version`` of every version in ``workspace`` whose image has this hash."""
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
                environment_variables=names_only(spec),
                definition=definition_state(spec),
            )
            if held:  # a resource made before holders were recorded takes its hold now
                workspace.hold(old_name, old_version, held)
            return old_version
        record = register(workspace, resolved, image, held)
        workspace.release(old_name, old_version, held)
        return record.version
