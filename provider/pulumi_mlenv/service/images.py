"""The use cases of images, in plain Python: the only place that combines the
registry, the build and the workspace. ``resources/`` and ``cli/`` call these.

- ``ensure_image(spec)``: reuse by hash (global registry, then workspace
  registry, R14) or build, push and record (R10, R16), or force (R18).
- ``image_details(query)``: what is known about an image (R12).
- ``materialize_local(spec)``: a host virtualenv keyed by hash (R7, R9).

Naming: an environment's image lives in the repository ``mlenv/env`` under
the registry's namespace, tagged with the full 64-hex hash:
``<registry>[/namespace]/mlenv/env:<hash>``. The tag is an index; the image is
always returned *by digest* (``<registry>/<repo>@sha256:...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.imaging.builder import ImageBuild, build_image
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.imaging.dockerfile import LABEL_PREFIX
from pulumi_mlenv.imaging.lock import diff_locks
from pulumi_mlenv.registry import RegistryClient, resolve_base_image
from pulumi_mlenv.spec import (
    RECIPE_VERSION,
    EnvironmentSpec,
    compute_hash,
    extra_conda_packages,
    unpinned_packages,
    with_resolved_base,
)

__all__ = [
    "ENV_REPOSITORY",
    "EnsureResult",
    "ImageDetails",
    "base_image_of",
    "build_plan",
    "ensure_image",
    "image_details",
    "image_name",
    "materialize_local",
    "with_base_digest",
]

#: Repository of environment images, under the registry's namespace.
ENV_REPOSITORY = "mlenv/env"


class _Store(Protocol):
    """The part of ``workspace.Workspace`` the image use cases need."""

    def find_image(self, env_hash: str) -> Any: ...
    def record_image(self, record: Any) -> Any: ...
    def versions_for_hash(self, env_hash: str) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsureResult:
    """What ``ensure_image`` did.

    ``image`` is the reference by digest. ``built`` is False for a reuse;
    ``source`` says where the image came from: ``global``, ``workspace`` or
    ``built``. ``lock`` holds the installed ``name==version`` lines (empty for
    a user-managed image, or a registry hit that no workspace recorded).
    ``warnings`` lists unpinned packages (R16). On a forced rebuild (R18),
    ``previous_digest`` is the digest the tag pointed to (still pullable),
    ``shared_versions`` the ``name:version`` entries mapping to this hash and
    ``lock_changes`` what moved between the old and new lock.
    """

    env_hash: str
    image: str
    registry: str
    repository: str
    digest: str
    size: int | None
    built: bool
    source: str
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


def base_image_of(spec: EnvironmentSpec, settings: Settings) -> str | None:
    """The base image reference the build starts from: the definition's, else
    the provider's default; None for a base Dockerfile."""
    if spec.docker.base_dockerfile:
        return None
    return spec.docker.base_image or settings.base_image


def with_base_digest(spec: EnvironmentSpec, settings: Settings) -> EnvironmentSpec:
    """The spec with the digest its base tag resolves to (R17), unless it has
    one already. One registry request per tag per process at most (cached)."""
    base = base_image_of(spec, settings)
    if base is None or spec.docker.resolved_base_digest:
        return spec
    digest = resolve_base_image(
        base,
        docker_host=settings.docker_host,
        ca_bundle=settings.ca_bundle,
        credentials=settings.logins(),
    )
    return with_resolved_base(spec, digest)


def _resolved(spec: EnvironmentSpec, settings: Settings) -> tuple[EnvironmentSpec, str | None]:
    """The spec with its base digest (R17) and the base reference to build from."""
    spec = with_base_digest(spec, settings)
    base = base_image_of(spec, settings)
    if base is None:
        return spec, None
    return spec, f"{base.split('@', 1)[0]}@{spec.docker.resolved_base_digest}"


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


def _client(settings: Settings, address: str) -> RegistryClient:
    """A client for ``address`` with its login from the settings, if any."""
    username, password = settings.login_for(address)
    return RegistryClient(
        address, username=username, password=password, ca_bundle=settings.ca_bundle
    )


def _lookup(client: RegistryClient, env_hash: str) -> str | None:
    return client.digest_of(client.repository_for(ENV_REPOSITORY), env_hash)


def _hit(
    where: str,
    client: RegistryClient,
    digest: str,
    env_hash: str,
    store: _Store | None,
    started: float,
    warnings: tuple[str, ...],
) -> EnsureResult:
    record = store.find_image(env_hash) if store is not None else None
    if record is not None and record.digest == digest:
        size, lock, dockerfile = record.size, tuple(record.lock), record.dockerfile
    else:  # an image this workspace never recorded (curated, another team's)
        size, lock, dockerfile = None, (), None
    repository = client.repository_for(ENV_REPOSITORY)
    return EnsureResult(
        env_hash=env_hash,
        image=f"{client.host}/{repository}@{digest}",
        registry=client.host,
        repository=repository,
        digest=digest,
        size=size,
        built=False,
        source=where,
        seconds=time.monotonic() - started,
        lock=lock,
        dockerfile=dockerfile,
        warnings=warnings,
    )


def _labels(
    spec: EnvironmentSpec, env_hash: str, base_ref: str | None
) -> tuple[tuple[str, str], ...]:
    labels = [
        (f"{LABEL_PREFIX}.hash", env_hash),
        (f"{LABEL_PREFIX}.recipe", RECIPE_VERSION),
        (f"{LABEL_PREFIX}.kind", spec.kind.value),
    ]
    if base_ref:
        name, _, digest = base_ref.partition("@")
        labels += [
            ("org.opencontainers.image.base.name", name),
            ("org.opencontainers.image.base.digest", digest),
        ]
    return tuple(labels)


def ensure_image(
    spec: EnvironmentSpec,
    *,
    settings: Settings,
    workspace: _Store | None = None,
    force: bool = False,
    progress: Callable[[StepEvent], None] | None = None,
) -> EnsureResult:
    """Reuse the image of ``spec``'s hash or build it (R14), by digest.

    Order: the global registry (``settings.global_registry``, curated images),
    then the workspace registry; a hit returns without building. A miss takes
    a cross-process lock on the hash, looks again (another process may have
    just built it), builds, pushes and records the image in ``workspace``.
    ``force`` (R18) builds without BuildKit's cache even when the tag exists,
    moves the tag, and reports what it affects; the old digest stays
    pullable (registries here never delete). Raises ``SpecError`` before any
    download for what cannot be built, ``BuildError`` for a failed build
    (nothing tagged, nothing recorded), ``RegistryError``/``EngineError``.
    """
    started = time.monotonic()
    _check_buildable(spec)
    spec, base_ref = _resolved(spec, settings)
    env_hash = compute_hash(spec)
    warnings = tuple(
        f"unpinned package {p}: the lock records the installed version"
        for p in unpinned_packages(spec)
    )
    workspace_client = _client(settings, settings.registry)
    with workspace_client:
        if not force:
            if settings.global_registry:
                with _client(settings, settings.global_registry) as g:
                    found = _lookup(g, env_hash)
                    if found:
                        return _hit("global", g, found, env_hash, workspace, started, warnings)
            found = _lookup(workspace_client, env_hash)
            if found:
                return _hit(
                    "workspace", workspace_client, found, env_hash, workspace, started, warnings
                )
        locks = Path(settings.cache_dir).expanduser() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        # The workspace lease: one build per hash across processes and machines
        # sharing the workspace; the file lock: the same within one cache folder.
        with _build_lease(workspace, env_hash, settings), FileLock(str(locks / f"{env_hash}.lock")):
            previous = _lookup(workspace_client, env_hash)
            if previous and not force:  # built by another process while we waited
                return _hit(
                    "workspace", workspace_client, previous, env_hash, workspace, started, warnings
                )
            return _build(
                spec,
                env_hash,
                base_ref,
                settings,
                workspace,
                workspace_client,
                previous if force else None,
                force,
                progress,
                started,
                warnings,
            )


def _build_lease(
    store: _Store | None, env_hash: str, settings: Settings
) -> AbstractContextManager[None]:
    """The workspace's build lease on the hash (``Workspace.build_lease``), if it has one."""
    lease = getattr(store, "build_lease", None)
    return nullcontext() if lease is None else lease(env_hash, settings.lease_seconds)


def build_plan(spec: EnvironmentSpec, settings: Settings, *, no_cache: bool = False) -> ImageBuild:
    """The build ``ensure_image`` runs for ``spec`` (its base digest resolved
    when missing), tagged ``image_name(settings.registry, hash)``. Benchmarks
    adjust it with ``dataclasses.replace`` (cache id, push, compression)."""
    spec, base_ref = _resolved(spec, settings)
    env_hash = compute_hash(spec)
    return ImageBuild(
        spec=spec,
        env_hash=env_hash,
        image_name=image_name(settings.registry, env_hash),
        base_ref=base_ref or "",
        buildkit_host=settings.buildkit_host,
        work_dir=Path(settings.cache_dir).expanduser() / "build",
        installer=settings.installer,
        ca_bundle=settings.ca_bundle,
        labels=_labels(spec, env_hash, base_ref),
        no_cache=no_cache,
        registry_auth=settings.registry_credentials,
    )


def _build(
    spec: EnvironmentSpec,
    env_hash: str,
    base_ref: str | None,
    settings: Settings,
    store: _Store | None,
    client: RegistryClient,
    previous: str | None,
    force: bool,
    progress: Callable[[StepEvent], None] | None,
    started: float,
    warnings: tuple[str, ...],
) -> EnsureResult:
    repository = client.repository_for(ENV_REPOSITORY)
    old_record = store.find_image(env_hash) if (store is not None and force) else None
    built = build_image(build_plan(spec, settings, no_cache=force), progress=progress)
    info = client.manifest_info(repository, built.digest)
    size = info.size if info is not None else None
    seconds = time.monotonic() - started
    if store is not None:
        _record(store, env_hash, client, repository, built, info, base_ref, seconds, force)
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
        source="built",
        seconds=seconds,
        lock=built.lock,
        dockerfile=built.dockerfile,
        warnings=warnings,
        forced=force,
        previous_digest=previous,
        shared_versions=shared,
        lock_changes=changes,
    )


def _record(
    store: _Store,
    env_hash: str,
    client: RegistryClient,
    repository: str,
    built: Any,
    info: Any,
    base_ref: str | None,
    seconds: float,
    forced: bool,
) -> None:
    from pulumi_mlenv.workspace import ImageRecord

    now = datetime.now(UTC).isoformat(timespec="seconds")
    base_name, _, base_digest = (base_ref or "").partition("@")
    store.record_image(
        ImageRecord(
            env_hash=env_hash,
            registry=client.host,
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageDetails:
    """What is known about one environment image (R12).

    Registry facts (digest, size, created, labels) come from the registry;
    the Dockerfile, lock and versions from the workspace, when it recorded
    the image (otherwise empty). ``versions`` lists ``name:version`` entries
    mapping to the image's hash.
    """

    registry: str
    repository: str
    digest: str
    env_hash: str | None
    size: int | None
    created: str | None
    base_image: str | None
    base_digest: str | None
    dockerfile: str | None
    lock: tuple[str, ...]
    versions: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]

    @property
    def image(self) -> str:
        """The reference by digest."""
        return f"{self.registry.split('/', 1)[0]}/{self.repository}@{self.digest}"


def _query_target(query: str, settings: Settings, store: Any) -> tuple[str, str, str]:
    """(registry address, repository, reference) that ``query`` names."""
    from pulumi_mlenv.registry import ImageRef

    text = query.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        client = _client(settings, settings.registry)
        return settings.registry, client.repository_for(ENV_REPOSITORY), text
    if "/" in text or "@" in text:
        ref = ImageRef.parse(text)
        return ref.registry, ref.repository, ref.digest or ref.tag or "latest"
    name, _, version = text.partition(":")
    if store is None:
        raise MlenvError(f"looking up {query}: environment versions need a workspace")
    record = store.get_version(name, version or None)
    if record is None:
        raise MlenvError(f"no environment version {query} in the workspace")
    ref = ImageRef.parse(record.image)
    return ref.registry, ref.repository, ref.digest or ref.tag or "latest"


def image_details(query: str, *, settings: Settings, workspace: Any = None) -> ImageDetails:
    """Details of the image that ``query`` names: a hash (64 hex, looked up
    in the workspace registry), an image reference (tag or digest), or an
    environment ``NAME:VERSION`` / ``NAME`` (latest) from the workspace.
    Raises ``MlenvError`` when nothing matches, ``RegistryError`` when the
    registry cannot answer."""
    registry, repository, reference = _query_target(query, settings, workspace)
    with _client(settings, registry) as client:
        info = client.manifest_info(repository, reference)
    if info is None:
        raise MlenvError(f"no image {registry}/{repository}:{reference} in the registry")
    labels = dict(info.labels)
    env_hash = labels.get(f"{LABEL_PREFIX}.hash")
    record = None
    versions: tuple[str, ...] = ()
    if workspace is not None:
        record = workspace.find_image_by_digest(info.digest)
        if env_hash is None and record is not None:
            env_hash = record.env_hash
        if env_hash:
            versions = tuple(f"{v.name}:{v.version}" for v in workspace.versions_for_hash(env_hash))
    return ImageDetails(
        registry=registry,
        repository=repository,
        digest=info.digest,
        env_hash=env_hash,
        size=info.size,
        created=info.created,
        base_image=labels.get("org.opencontainers.image.base.name"),
        base_digest=labels.get("org.opencontainers.image.base.digest"),
        dockerfile=record.dockerfile if record is not None else None,
        lock=tuple(record.lock) if record is not None else (),
        versions=versions,
        labels=tuple(sorted(labels.items())),
    )


def materialize_local(spec: EnvironmentSpec, settings: Settings) -> Path:
    """A host virtualenv for a system-managed ``spec`` (R7, R9), keyed by its
    hash under ``settings.cache_dir/venvs`` and reused by later calls. See
    ``imaging.local_env``."""
    from pulumi_mlenv.imaging.local_env import local_environment

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
    return local_environment(spec, compute_hash(spec), settings)
