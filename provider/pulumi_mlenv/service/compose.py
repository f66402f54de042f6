"""The composition of the real outside world: the one module that names the
concrete adapters (the workspace's SQL stores, the registry client, BuildKit,
the Docker engine, Spark, HAProxy, loopback ports, HTTP, uv virtualenvs).

Imports are deferred so that a CLI command pays only for the parts it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.service.outside import Outside

if TYPE_CHECKING:
    from pulumi_mlenv.compute import ComputeTarget
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.definition import EnvironmentSpec
    from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.imaging.inference import BuiltInference, InferenceBuild
    from pulumi_mlenv.imaging.ray_layer import RayLayer
    from pulumi_mlenv.service.outside import (
        ArtifactRegistry,
        EnvironmentStore,
        ImageRegistry,
        Proxy,
        RunStore,
        ServiceEngine,
        ServingStore,
    )
    from pulumi_mlenv.workspace import ComputeTargetRecord, RunRecord

__all__ = ["outside_or_real", "real_outside"]


def _registry(address: str, settings: Settings) -> ImageRegistry:
    from pulumi_mlenv.registry import RegistryClient

    username, password = settings.login_for(address)
    return RegistryClient(
        address, username=username, password=password, ca_bundle=settings.ca_bundle
    )


def _artifacts(address: str, settings: Settings) -> ArtifactRegistry:
    from pulumi_mlenv.registry.referrers import ReferrersClient

    username, password = settings.login_for(address)
    return ReferrersClient(
        address, username=username, password=password, ca_bundle=settings.ca_bundle
    )


def _build(plan: ImageBuild, progress: Callable[[StepEvent], None] | None) -> BuiltImage:
    from pulumi_mlenv.imaging.builder import build_image

    return build_image(plan, progress=progress)


def _build_inference(
    plan: InferenceBuild, progress: Callable[[StepEvent], None] | None
) -> BuiltInference:
    from pulumi_mlenv.imaging.inference import build_inference_image

    return build_inference_image(plan, progress=progress)


def _resolve_base(reference: str, settings: Settings) -> str:
    from pulumi_mlenv.registry import ImageRef, InvalidImageRef, resolve_base_image

    credentials = settings.logins()
    try:
        host = ImageRef.parse(reference).registry
    except InvalidImageRef:
        host = None  # resolve_base_image says what is wrong with it
    if host and host not in credentials:
        username, password = settings.login_for(host)  # `docker login`'s, if any
        if username and password:
            credentials[host] = (username, password)
    return resolve_base_image(
        reference,
        docker_host=settings.docker_host,
        ca_bundle=settings.ca_bundle,
        credentials=credentials,
    )


def _workspace(url: str) -> EnvironmentStore:
    from pulumi_mlenv.workspace import Workspace

    return Workspace(url)


def _runs(url: str) -> RunStore:
    from pulumi_mlenv.workspace.sqlite_runs import SqliteRunStore, current_file

    # A SQLite file at the current schema: the standard library's sqlite3
    # (milliseconds); anything else opens SQLAlchemy's store (and migrates).
    path = current_file(url)
    if path is not None:
        return SqliteRunStore(url, path)
    from pulumi_mlenv.workspace import RunStore as SqlRunStore

    return SqlRunStore(url)


def _serving(url: str) -> ServingStore:
    from pulumi_mlenv.workspace.serving_store import ServingStore

    return ServingStore(url)


def _compute(kind: str, url: str | None, settings: Settings | None = None) -> ComputeTarget:
    from pulumi_mlenv.compute.target import parse_target

    if settings is not None and kind == "spark" and url:
        from pulumi_mlenv.compute.spark_target import SparkTarget

        # A registered Spark target uses the settings' Spark home and cache.
        return SparkTarget(url, settings.spark_home, str(settings.cache_dir))
    if settings is not None and kind == "docker" and not url:
        url = settings.docker_host
    return parse_target(kind, url)


def _engine(url: str) -> ServiceEngine:
    from pulumi_mlenv.compute import DockerTarget

    return DockerTarget(url)


def _proxy(home: Path, port: int) -> Proxy:
    from pulumi_mlenv.compute.proxy import HAProxy

    return HAProxy(home, port)


class _LoopbackPorts:
    def in_use(self, port: int) -> bool:
        from pulumi_mlenv.compute.tcp_ports import port_in_use

        return port_in_use(port)

    def allocate(self, exclude: Collection[int] = ()) -> int:
        from pulumi_mlenv.compute.tcp_ports import allocate_port

        return allocate_port(exclude)


class _Http:
    def is_live(self, url: str) -> bool:
        from pulumi_mlenv.compute.health import is_live

        return is_live(url)

    def wait_until_live(
        self, url: str, *, timeout: float, still_running: Callable[[], bool]
    ) -> str:
        from pulumi_mlenv.compute.health import wait_until_live

        return wait_until_live(url, timeout=timeout, still_running=still_running)

    def post_json(self, url: str, data: bytes, *, timeout: float) -> tuple[int, str]:
        from pulumi_mlenv.compute.health import post_json

        return post_json(url, data, timeout=timeout)


def _local_env(spec: EnvironmentSpec, env_hash: str, settings: Settings) -> Path:
    from pulumi_mlenv.imaging.local_env import local_environment

    return local_environment(spec, env_hash, settings)


def _quick_runs(url: str, limit: int) -> list[RunRecord] | None:
    from pulumi_mlenv.workspace.run_reads import try_list_runs

    return try_list_runs(url, limit)


def _quick_targets(url: str) -> list[ComputeTargetRecord] | None:
    from pulumi_mlenv.workspace.sqlite_runs import try_compute_targets

    return try_compute_targets(url)


def _quick_version(
    url: str, name: str, env_hash: str, version: str | None, definition: Mapping[str, Any]
) -> tuple[str, str, tuple[str, ...]] | None:
    from pulumi_mlenv.workspace.sqlite_runs import try_registered_version

    return try_registered_version(url, name, env_hash, version, definition)


def _ray_layer(venv: Path, lock: tuple[str, ...], version: str, cache: Path) -> RayLayer:
    from pulumi_mlenv.imaging.ray_layer import ray_layer

    return ray_layer(venv, lock, version, cache)


_REAL = Outside(
    workspace=_workspace,
    runs=_runs,
    serving=_serving,
    registry=_registry,
    build=_build,
    build_inference=_build_inference,
    resolve_base=_resolve_base,
    compute=_compute,
    engine=_engine,
    proxy=_proxy,
    tcp=_LoopbackPorts(),
    http=_Http(),
    local_env=_local_env,
    artifacts=_artifacts,
    quick_runs=_quick_runs,
    quick_targets=_quick_targets,
    quick_version=_quick_version,
    ray_layer=_ray_layer,
)


def real_outside() -> Outside:
    """The workspace database, registries, BuildKit, engines and the proxy."""
    return _REAL


def outside_or_real(outside: Outside | None) -> Outside:
    """``outside`` when given (tests), else the real one."""
    return outside if outside is not None else _REAL
