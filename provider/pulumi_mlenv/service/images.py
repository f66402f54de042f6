"""The image use cases: reuse an environment's image by hash or build it,
always by digest, and tell what is known about one.

- ``ensure_image(resolved)``: reuse by hash (the global registry first,
  then the workspace's) or build, push and record (two build
  steps; unpinned packages are locked), or force (an explicit forced rebuild).
- ``image_details(query)``: what is known about an image.
- ``materialize_local(spec)``: a host virtualenv keyed by hash (built into images; local runs).

Naming: an environment's image lives in the repository ``mlenv/env`` under
the registry's namespace, tagged with the full 64-hex image hash:
``<registry>[/namespace]/mlenv/env:<hash>``. The tag is an index; the image is
always returned *by digest* (``<registry>/<repo>@sha256:...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    RECIPE_VERSION,
    EnvironmentSpec,
    compute_hash,
    extra_conda_packages,
)
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.image_adoption import adopt
from pulumi_mlenv.service.outside import ImageRegistry, Outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment, base_image_of

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.registry import ManifestInfo
    from pulumi_mlenv.service.outside import EnvironmentStore

__all__ = [
    "ENV_REPOSITORY",
    "EnsureResult",
    "base_image_of",
    "build_plan",
    "ensure_image",
    "image_name",
    "materialize_local",
]

#: Repository of environment images, under the registry's namespace.
ENV_REPOSITORY = "mlenv/env"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsureResult:
    """What ``ensure_image`` did.

    ``image`` is the reference by digest. ``built`` is False for a reuse,
    and then ``reused_from`` says which registry had it: ``global`` or
    ``workspace`` (None when built). ``lock`` holds the installed
    ``name==version`` lines (empty for a user-managed image, or a registry hit
    that no workspace recorded). ``warnings`` lists unpinned packages (unpinned packages are
    locked).
    On a forced rebuild, ``previous_digest`` is the digest the tag
    pointed to (still pullable), ``shared_versions`` the ``name:version``
    entries mapping to this hash and ``lock_changes`` what moved between the
    old and new lock.
    """

    env_hash: str
    image: str
    registry: str
    repository: str
    digest: str
    size: int | None
    built: bool
    reused_from: str | None
    seconds: float
    lock: tuple[str, ...]
    dockerfile: str | None = None
    warnings: tuple[str, ...] = ()
    forced: bool = False
    previous_digest: str | None = None
    shared_versions: tuple[str, ...] = ()
    lock_changes: tuple[str, ...] = ()


def image_name(registry: str, env_hash: str) -> str:
    """``<registry>[/namespace]/mlenv/env:<hash>``: where a hash's image is tagged."""
    return f"{registry.rstrip('/')}/{ENV_REPOSITORY}:{env_hash}"


def _check_buildable(spec: EnvironmentSpec) -> None:
    """Fail before any download on what this build cannot do."""
    # Conda packages beyond python and pip need micromamba/conda in the base
    # image: the build's first step 2 command checks it (imaging.conda).
    if spec.python.user_managed and not spec.python.interpreter_path:
        raise SpecError.at(
            "python.interpreter_path",
            "a user-managed environment needs the interpreter path",
            "e.g. interpreter_path: /usr/bin/python3",
        )


def _lookup(client: ImageRegistry, env_hash: str) -> str | None:
    return client.digest_of(client.repository_for(ENV_REPOSITORY), env_hash)


@dataclass(frozen=True, slots=True)
class _Job:
    """One ``ensure_image`` call: what it needs at every step."""

    target: ResolvedEnvironment
    settings: Settings
    outside: Outside
    store: EnvironmentStore | None
    started: float
    warnings: tuple[str, ...]

    def hit(self, where: str, client: ImageRegistry, digest: str) -> EnsureResult:
        env_hash = self.target.hash
        repository = client.repository_for(ENV_REPOSITORY)
        size: int | None = None
        lock: tuple[str, ...] = ()
        dockerfile: str | None = None
        record = self.store.find_image(env_hash) if self.store is not None else None
        if self.store is not None and (record is None or record.digest != digest):
            # An image this workspace never recorded: another team's, a curated
            # one, or one whose recording a kill interrupted after the push.
            # Recorded now, with the lock read from the image itself.
            record = adopt(self.store, self.target, client, repository, digest)
        if record is not None:
            size, lock, dockerfile = record.size, tuple(record.lock), record.dockerfile or None
        return EnsureResult(
            env_hash=env_hash,
            image=f"{client.host}/{repository}@{digest}",
            registry=client.host,
            repository=repository,
            digest=digest,
            size=size,
            built=False,
            reused_from=where,
            seconds=time.monotonic() - self.started,
            lock=lock,
            dockerfile=dockerfile,
            warnings=self.warnings,
        )


def _labels(target: ResolvedEnvironment) -> tuple[tuple[str, str], ...]:
    from pulumi_mlenv.imaging.dockerfile import LABEL_PREFIX

    labels = [
        (f"{LABEL_PREFIX}.hash", target.hash),
        (f"{LABEL_PREFIX}.recipe", RECIPE_VERSION),
        (f"{LABEL_PREFIX}.kind", target.spec.kind.value),
    ]
    if target.base_ref:
        name, _, digest = target.base_ref.partition("@")
        labels += [
            ("org.opencontainers.image.base.name", name),
            ("org.opencontainers.image.base.digest", digest),
        ]
    return tuple(labels)


def ensure_image(
    resolved: ResolvedEnvironment,
    *,
    settings: Settings,
    workspace: EnvironmentStore | None = None,
    force: bool = False,
    progress: Callable[[StepEvent], None] | None = None,
    outside: Outside | None = None,
) -> EnsureResult:
    """Reuse the image of ``resolved``'s hash or build it, by digest.

    ``resolved`` is the value ``check`` resolved (``service.resolve``): the
    definition is parsed and hashed once per trip, never here. Order: the
    global registry (``settings.global_registry``, curated images), then the
    workspace registry; a hit returns without building. A miss takes a
    cross-process lock on the hash, looks again (another process may have
    just built it), builds, pushes and records the image in ``workspace``.
    ``force`` (an explicit rebuild) builds without BuildKit's cache even when
    the tag exists, moves the tag, and reports what it affects; the old
    digest stays pullable (registries here never delete). Raises
    ``SpecError`` before any download for what cannot be built,
    ``BuildError`` for a failed build (nothing tagged, nothing recorded),
    ``RegistryError``/``EngineError``.
    """
    started = time.monotonic()
    io = outside_or_real(outside)
    _check_buildable(resolved.spec)
    warnings = tuple(
        f"unpinned package {p}: the lock records the installed version" for p in resolved.unpinned
    )
    job = _Job(resolved, settings, io, workspace, started, warnings)
    env_hash = resolved.hash
    with io.registry(settings.registry, settings) as workspace_client:
        if not force:
            if settings.global_registry:
                with io.registry(settings.global_registry, settings) as g:
                    found = _lookup(g, env_hash)
                    if found:
                        return job.hit("global", g, found)
            found = _lookup(workspace_client, env_hash)
            if found:
                return job.hit("workspace", workspace_client, found)
        from filelock import FileLock  # here: a preview never builds, and pays nothing

        locks = Path(settings.cache_dir).expanduser() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        # The workspace lease: one build per hash across processes and machines
        # sharing the workspace; the file lock: the same within one cache folder.
        with (
            _build_lease(workspace, env_hash, settings),
            FileLock(str(locks / f"{env_hash}.lock")),
        ):
            previous = _lookup(workspace_client, env_hash)
            if previous and not force:  # built by another process while we waited
                return job.hit("workspace", workspace_client, previous)
            return _build(job, workspace_client, previous if force else None, force, progress)


def _build_lease(
    store: EnvironmentStore | None, env_hash: str, settings: Settings
) -> AbstractContextManager[None]:
    """The workspace's build lease on the hash, when there is a workspace."""
    if store is None:
        return nullcontext()
    return store.build_lease(env_hash, settings.lease_seconds)


def build_plan(
    resolved: ResolvedEnvironment,
    settings: Settings,
    *,
    no_cache: bool = False,
) -> ImageBuild:
    """The build ``ensure_image`` runs for ``resolved``, tagged
    ``image_name(settings.registry, hash)``. Benchmarks adjust it with
    ``dataclasses.replace`` (cache id, push, compression)."""
    from pulumi_mlenv.imaging.builder import ImageBuild

    return ImageBuild(
        spec=resolved.spec,
        env_hash=resolved.hash,
        image_name=image_name(settings.registry, resolved.hash),
        base_ref=resolved.base_ref or "",
        buildkit_host=settings.buildkit_host,
        work_dir=Path(settings.cache_dir).expanduser() / "build",
        installer=settings.installer,
        ca_bundle=settings.ca_bundle,
        labels=_labels(resolved),
        no_cache=no_cache,
        registry_auth=settings.registry_credentials,
    )


def _build(
    job: _Job,
    client: ImageRegistry,
    previous: str | None,
    force: bool,
    progress: Callable[[StepEvent], None] | None,
) -> EnsureResult:
    from pulumi_mlenv.imaging.lock import diff_locks

    env_hash, store = job.target.hash, job.store
    repository = client.repository_for(ENV_REPOSITORY)
    old_record = store.find_image(env_hash) if (store is not None and force) else None
    plan = build_plan(job.target, job.settings, no_cache=force)
    built = job.outside.build(plan, progress)
    info = client.manifest_info(repository, built.digest)
    size = info.size if info is not None else None
    seconds = time.monotonic() - job.started
    if store is not None:
        _record(store, job.target, client.host, repository, built, info, seconds, force)
    shared: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    if force:
        if store is not None:
            shared = tuple(f"{v.name}:{v.version}" for v in store.versions_for_hash(env_hash))
        if old_record is not None:
            changes = tuple(diff_locks(old_record.lock, built.lock))
    return EnsureResult(
        env_hash=env_hash,
        image=f"{client.host}/{repository}@{built.digest}",
        registry=client.host,
        repository=repository,
        digest=built.digest,
        size=size,
        built=True,
        reused_from=None,
        seconds=seconds,
        lock=built.lock,
        dockerfile=built.dockerfile,
        warnings=job.warnings,
        forced=force,
        previous_digest=previous,
        shared_versions=shared,
        lock_changes=changes,
    )


def _record(
    store: EnvironmentStore,
    target: ResolvedEnvironment,
    host: str,
    repository: str,
    built: BuiltImage,
    info: ManifestInfo | None,
    seconds: float,
    forced: bool,
) -> None:
    from pulumi_mlenv.workspace import ImageRecord

    now = datetime.now(UTC).isoformat(timespec="seconds")
    base_name, _, base_digest = (target.base_ref or "").partition("@")
    store.record_image(
        ImageRecord(
            env_hash=target.hash,
            registry=host,
            repository=repository,
            digest=built.digest,
            size=info.size if info is not None else 0,
            created=(info.created if info is not None else None) or now,
            base_image=base_name or None,
            base_digest=base_digest or None,
            dockerfile=built.dockerfile,
            lock=tuple(built.lock),
            build_seconds=seconds,
            forced=forced,
        )
    )


def materialize_local(
    spec: EnvironmentSpec, settings: Settings, *, outside: Outside | None = None
) -> Path:
    """A host virtualenv for a system-managed ``spec`` (built into images; local runs), keyed by its
    hash under ``settings.cache_dir/venvs`` and reused by later calls. See
    ``imaging.local_env``."""
    _check_buildable(spec)
    if spec.python.user_managed:
        raise SpecError.at(
            "python.user_managed",
            "a user-managed environment has nothing to materialise",
            "run with its interpreter directly",
        )
    extra = extra_conda_packages(spec)
    if extra:  # a host virtualenv holds pip packages only
        raise SpecError.at(
            "python.conda.dependencies",
            f"a local virtualenv cannot hold conda packages ({', '.join(extra)})",
            "move them to the pip list, or run in the environment's image",
        )
    return outside_or_real(outside).local_env(spec, compute_hash(spec), settings)
