"""The real backends: the registry client, BuildKit, the workspace database
and compute targets. Imports are deferred so that a CLI command pays only
for the parts it uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pulumi_mlenv.service.ports import ArtifactRegistry, Backends, ImageRegistry

if TYPE_CHECKING:
    from pulumi_mlenv.compute import ComputeTarget
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.workspace import Workspace

__all__ = ["backends_or_real", "real_backends"]


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


def _store(url: str) -> Workspace:
    from pulumi_mlenv.workspace import Workspace

    return Workspace(url)


def _compute(kind: str, url: str | None) -> ComputeTarget:
    from pulumi_mlenv.compute import parse_target

    return parse_target(kind, url)


_REAL = Backends(
    registry=_registry,
    build=_build,
    resolve_base=_resolve_base,
    store=_store,
    compute=_compute,
    artifacts=_artifacts,
)


def real_backends() -> Backends:
    """The registry client, BuildKit, the workspace database and compute."""
    return _REAL


def backends_or_real(backends: Backends | None) -> Backends:
    """``backends`` when given (tests), else the real ones."""
    return backends if backends is not None else _REAL
