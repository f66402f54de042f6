"""The outside world as the use cases see it: one value, ``Outside``.

Every use case (environments, images, runs, models, deployments, endpoints,
gc, verify) and every resource reaches the stores and the daemons only
through the ``Outside`` it is given: the workspace's stores (environment
versions, runs, serving), the registry client, the image builders, base-tag
resolution, compute targets and the engine that serves deployments, the
endpoint proxy, loopback TCP ports, HTTP probes and the host's virtualenvs.

``service.compose.real_outside()`` picks the real ones (the only module that
names a concrete adapter); tests give in-memory ones
(``tests/support/fakes.py``) to drive every decision without a daemon, the
way pulumi-docker-build tests its provider against a fake client.

A Pulumi provider is pickled: each field is a *factory*, and each use case
asks for one client per operation and closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self

if TYPE_CHECKING:
    # Type names only: the stores are SQLAlchemy-backed classes, opened by
    # the factories below (real SQLite in the fast tier too).
    from pulumi_mlenv.compute import ComputeTarget
    from pulumi_mlenv.compute.docker_target import ServiceSpec, ServiceState
    from pulumi_mlenv.compute.proxy import Backend
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.definition import EnvironmentSpec
    from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.imaging.inference import BuiltInference, InferenceBuild
    from pulumi_mlenv.imaging.ray_layer import RayLayer
    from pulumi_mlenv.registry import ManifestInfo
    from pulumi_mlenv.registry.referrers import Referrer
    from pulumi_mlenv.workspace import ComputeTargetRecord, RunRecord, RunStatus
    from pulumi_mlenv.workspace import Workspace as EnvironmentStore
    from pulumi_mlenv.workspace.serving_store import ServingStore

__all__ = [
    "ArtifactRegistry",
    "BuildFn",
    "ComputeFactory",
    "EnvironmentStore",
    "HttpProbe",
    "ImageRegistry",
    "Outside",
    "Proxy",
    "ResolveBaseFn",
    "RunStore",
    "ServiceEngine",
    "ServingStore",
    "TcpPorts",
]


class ImageRegistry(Protocol):
    """One OCI registry, by address ``host[:port][/namespace]``."""

    host: str

    def repository_for(self, name: str) -> str:
        """``name`` under the registry's namespace."""
        ...

    def digest_of(self, repository: str, reference: str) -> str | None:
        """The manifest digest a tag or digest names; None when absent."""
        ...

    def manifest_info(self, repository: str, reference: str) -> ManifestInfo | None:
        """Size, creation time and labels of an image; None when absent."""
        ...

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """``(digest, manifest document)``; None when absent."""
        ...

    def blob(self, repository: str, digest: str) -> bytes:
        """The bytes of a config or layer blob."""
        ...

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has the blob (one ``HEAD``)."""
        ...

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest by digest; False when it was not there."""
        ...

    def tags(self, repository: str) -> list[str]:
        """Every tag of the repository (hold tags: service/holds.py)."""
        ...

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (once); its digest."""
        ...

    def put_hold_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        """Store a manifest under a tag; its digest."""
        ...

    def repositories(self, limit: int = 10_000) -> list[str]:
        """Repository names the registry lists (empty when it lists none)."""
        ...

    def read_file(
        self, repository: str, info: ManifestInfo, path: str, *, max_layer_bytes: int
    ) -> bytes | None:
        """A file's content from the image's layers (small layers only)."""
        ...

    def ping(self) -> None:
        """Raise ``RegistryError`` unless the registry answers (with the login)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any: ...


class ArtifactRegistry(ImageRegistry, Protocol):
    """A registry that also moves raw manifests and blobs, and attaches and
    lists referrers (SBOMs, provenance): ``registry.referrers.ReferrersClient``."""

    def raw_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes] | None:
        """``(digest, media type, bytes)`` of a manifest as stored; None when absent."""
        ...

    def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> tuple[str, bool]:
        """Store a manifest under a tag or digest."""
        ...

    def blob(self, repository: str, digest: str) -> bytes:
        """A (small) blob's bytes, checked."""
        ...

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has the blob."""
        ...

    def push_blob(self, repository: str, data: bytes | Path, digest: str | None = None) -> str:
        """Upload a blob (bytes or a file) unless present; its digest."""
        ...

    def blob_to_file(self, repository: str, digest: str, path: Path) -> int:
        """Stream a blob into a file; its size."""
        ...

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        """A stream of a blob's bytes."""
        ...

    def attach(
        self,
        repository: str,
        subject: Mapping[str, Any],
        *,
        artifact_type: str,
        payload: bytes,
        media_type: str,
        annotations: Mapping[str, str],
    ) -> Referrer:
        """Attach an artifact to an image as an OCI referrer."""
        ...

    def referrers(
        self,
        repository: str,
        digest: str,
        artifact_type: str | None = None,
        *,
        prefer_tag: bool = False,
    ) -> list[Referrer]:
        """An image's referrers."""
        ...

    def add_to_index(self, repository: str, subject: str, referrer: Referrer) -> None:
        """List a stored referrer manifest in the image's referrers tag."""
        ...

    def artifact(self, repository: str, referrer: Referrer) -> tuple[str, bytes]:
        """``(media type, bytes)`` of a referrer's artifact."""
        ...


class ServiceEngine(Protocol):
    """An engine that runs long-lived containers (deployments) by URL."""

    def check(self) -> None:
        """Raise ``EngineError`` unless the engine answers."""
        ...

    def run(self, image: str, command: list[str], env: Any) -> tuple[int, str]:
        """Run ``command`` in ``image`` once: ``(exit code, output)``."""
        ...

    def start_service(self, spec: ServiceSpec) -> str:
        """Start a container; its id."""
        ...

    def service_state(self, container_id: str) -> ServiceState | None:
        """How the container is; None when it is gone."""
        ...

    def service_logs(self, container_id: str, tail: int = 40) -> str:
        """The end of the container's log."""
        ...

    def remove_service(self, container_id: str, *, grace: int = 10) -> bool:
        """Stop and remove the container; False when it was gone."""
        ...

    def services(self, labels: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
        """``(container id, labels)`` of every container carrying ``labels``."""
        ...


class Proxy(Protocol):
    """The reverse proxy of one endpoint (HAProxy in production)."""

    def start(self, backends: tuple[Backend, ...]) -> None: ...

    def reload(self, backends: tuple[Backend, ...]) -> None: ...

    def stop(self) -> bool: ...

    def master_pid(self) -> int | None: ...

    def serving(self) -> str | None: ...


class TcpPorts(Protocol):
    """Ports on the loopback address, where services listen."""

    def in_use(self, port: int) -> bool:
        """True when something listens on the port or it cannot be bound."""
        ...

    def allocate(self, exclude: Collection[int] = ()) -> int:
        """A free port not in ``exclude``; ``OSError`` when none is found."""
        ...


class HttpProbe(Protocol):
    """HTTP as the serving use cases need it: liveness and one POST."""

    def is_live(self, url: str) -> bool: ...

    def wait_until_live(
        self, url: str, *, timeout: float, still_running: Callable[[], bool]
    ) -> str:
        """``live``, ``exited`` or ``timeout``."""
        ...

    def post_json(self, url: str, data: bytes, *, timeout: float) -> tuple[int, str]:
        """``(status, body)``; ``EngineError`` when nothing answers."""
        ...


class ComputeFactory(Protocol):
    """A compute target by kind and URL (not contacted until ``check``)."""

    def __call__(
        self, kind: str, url: str | None, settings: Settings | None = None
    ) -> ComputeTarget: ...


#: Runs one image build and pushes it: ``build(plan, progress)``.
BuildFn = Callable[["ImageBuild", "Callable[[StepEvent], None] | None"], "BuiltImage"]
#: The digest a base image reference resolves to now (tag -> digest).
ResolveBaseFn = Callable[[str, "Settings"], str]


class RunStore(Protocol):
    """Run records in a workspace (``workspace.RunStore``, or the standard
    library's on a SQLite file at the current schema): one short
    transaction per method."""

    url: str

    def add(self, record: RunRecord) -> RunRecord: ...
    def beat(self, run_id: str) -> None: ...
    def sweep(self) -> list[RunRecord]: ...
    def mark_running(self, run_id: str) -> RunRecord: ...
    def finish(
        self, run_id: str, status: RunStatus, exit_code: int | None, error: str | None = None
    ) -> RunRecord: ...
    def get(self, run_id: str) -> RunRecord: ...
    def list(self, limit: int = 50) -> list[RunRecord]: ...
    def close(self) -> None: ...


def _store_only(_url: str, _limit: int) -> list[RunRecord] | None:
    return None


def _targets_from_store(_url: str) -> list[ComputeTargetRecord] | None:
    return None


def _register_in_store(
    _url: str, _name: str, _hash: str, _version: str | None, _definition: Mapping[str, Any]
) -> tuple[str, str, tuple[str, ...]] | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outside:
    """Factories of everything outside the process, chosen in one place."""

    # -- the workspace's stores (a database URL each; close what you open)
    #: Environment versions, images, compute targets, verifications, leases.
    workspace: Callable[[str], EnvironmentStore]
    #: Run records.
    runs: Callable[[str], RunStore]
    #: Models, deployments and endpoints.
    serving: Callable[[str], ServingStore]
    # -- adapters
    #: A registry client for an address, with the settings' login for it.
    registry: Callable[[str, Settings], ImageRegistry]
    #: The environment image builder (BuildKit in production).
    build: BuildFn
    #: The inference image builder of deployments (BuildKit too).
    build_inference: Callable[[InferenceBuild, Callable[[StepEvent], None] | None], BuiltInference]
    #: Tag -> digest of base images.
    resolve_base: ResolveBaseFn
    #: Where runs run.
    compute: ComputeFactory
    #: The engine serving deployments, by URL.
    engine: Callable[[str], ServiceEngine]
    #: An endpoint's proxy in its folder, on its port.
    proxy: Callable[[Path, int], Proxy]
    #: Loopback ports.
    tcp: TcpPorts
    #: HTTP probes and requests.
    http: HttpProbe
    #: The host virtualenv of a definition (``spec, hash, settings``) -> folder.
    local_env: Callable[[EnvironmentSpec, str, Settings], Path]
    #: The cluster's Ray beside a host virtualenv (``venv, lock, ray version,
    #: cache``) -> the layer a Ray job runs.
    ray_layer: Callable[[Path, tuple[str, ...], str, Path], RayLayer]
    #: A registry client that moves blobs and referrers (SBOMs, provenance,
    #: bundles); None: no supply-chain artifacts (in-memory test worlds).
    artifacts: Callable[[str, Settings], ArtifactRegistry] | None = None
    #: The latest runs (``url, limit``) read without opening the run store
    #: (``mlenv run list``), or ``None`` when only the store can answer.
    quick_runs: Callable[[str, int], list[RunRecord] | None] = _store_only
    #: The registered compute targets read without opening the workspace's
    #: store, or ``None`` when only the store can answer.
    quick_targets: Callable[[str], list[ComputeTargetRecord] | None] = _targets_from_store
    #: A run's registration (``url, name, hash, version, definition``) when
    #: it changes nothing: ``(version, image, lock)``, else ``None`` (the
    #: store registers it). Host runs, and docker runs of a built version.
    quick_version: Callable[
        [str, str, str, str | None, Mapping[str, Any]], tuple[str, str, tuple[str, ...]] | None
    ] = _register_in_store
