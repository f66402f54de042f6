"""An in-memory outside world for the fast tier: registries, the image and
inference builders, base-tag resolution, compute targets, the engine that
serves deployments, the endpoint proxy, loopback ports, HTTP and host
virtualenvs, all living in one ``FakeWorld`` (``world.outside()``).

They stand in for the daemons only to drive the decisions of the use cases
and resources (check, diff, create, update, read, delete; runs,
deployments, endpoints, models, gc, verify) in milliseconds; the stores stay
real (SQLite in a temporary folder) and a job's script really runs, as a
host process. Every behaviour they imitate is exercised against the real
daemons once in the engine tier.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_mlenv.closing import Closing
from pulumi_mlenv.compute import OUTPUTS_VARIABLE, ComputeTarget, Job, Sink
from pulumi_mlenv.compute.docker_target import ServiceSpec, ServiceState
from pulumi_mlenv.compute.proxy import Backend
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec
from pulumi_mlenv.errors import BuildError, EngineError, RegistryError
from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
from pulumi_mlenv.imaging.inference import BuiltInference, InferenceBuild
from pulumi_mlenv.imaging.layer_plan import TimedLayer, plan_layers
from pulumi_mlenv.imaging.layers import LARGE
from pulumi_mlenv.imaging.ray_layer import RayLayer
from pulumi_mlenv.registry import ManifestInfo
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.workspace import RunStore, Workspace
from pulumi_mlenv.workspace.serving_store import ServingStore
from pulumi_mlenv.workspace.sqlite_runs import try_compute_targets, try_registered_version

#: A pip requirement that makes the fake build fail, as a bad package would.
FAILING_PACKAGE = "does-not-exist-anywhere==1.0"


def _layer(digest: str) -> bytes:
    """A gzipped layer tar holding ``opt/venv/RECORD`` with ``digest`` in it."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = digest.encode()
        info = tarfile.TarInfo("opt/venv/RECORD")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class FakeRegistry(Closing):
    """One registry: ``tags[repository][tag] = digest``; ``images`` by digest."""

    world: FakeWorld
    address: str
    settings: Settings

    @property
    def host(self) -> str:
        return self.address.split("/", 1)[0]

    def _check(self) -> None:
        if self.host in self.world.down:
            raise RegistryError(f"registry {self.host} unreachable (fake: marked down)")
        if (
            self.host in self.world.logins
            and self.settings.login_for(self.host) != (self.world.logins[self.host])
        ):
            raise RegistryError(f"registry {self.host} refused the login")
        self.world.requests += 1

    def repository_for(self, name: str) -> str:
        _, _, namespace = self.address.partition("/")
        return f"{namespace}/{name}" if namespace else name

    def digest_of(self, repository: str, reference: str) -> str | None:
        self._check()
        if reference.startswith("sha256:"):
            return reference if reference in self.world.images else None
        return self.world.tags.get(f"{self.host}/{repository}", {}).get(reference)

    def manifest_info(self, repository: str, reference: str) -> ManifestInfo | None:
        digest = self.digest_of(repository, reference)
        if digest is None:
            return None
        return ManifestInfo(
            digest=digest,
            media_type="application/vnd.oci.image.manifest.v1+json",
            size=1000,
            config_digest=_digest("config", digest),
            created="2026-01-01T00:00:00Z",
            labels=dict(self.world.images[digest]),
        )

    def repositories(self, limit: int = 10_000) -> list[str]:
        self._check()
        prefix = f"{self.host}/"
        return [k.removeprefix(prefix) for k in self.world.tags if k.startswith(prefix)][:limit]

    def read_file(
        self, repository: str, info: ManifestInfo, path: str, *, max_layer_bytes: int
    ) -> bytes | None:
        self._check()
        lock = self.world.locks.get(info.digest)
        return "\n".join(lock).encode() + b"\n" if lock and path.endswith("lock.txt") else None

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        digest = self.digest_of(repository, reference)
        if digest is None:
            return None
        if digest in self.world.documents:  # a hold written through the fake
            return digest, self.world.documents[digest]
        config = _digest("config", digest)
        layers = self.world.layers.get(digest, (_digest("layer", digest),))
        sizes = self.world.sizes
        described = [{"digest": d, "size": sizes.get(d, 1000)} for d in layers]
        return digest, {"config": {"digest": config}, "layers": described}

    def blob(self, repository: str, digest: str) -> bytes:
        self._check()
        if digest in self.world.blobs:
            return self.world.blobs[digest]
        if any(digest in layers for layers in self.world.layers.values()) or not any(
            digest == _digest("config", d) for d in self.world.images
        ):
            return _layer(digest)  # a layer: one file whose bytes differ per digest
        return json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()

    def has_blob(self, repository: str, digest: str) -> bool:
        self._check()
        self.world.blob_checks += 1
        return digest in self.world.blobs or any(
            digest in layers for layers in self.world.layers.values()
        )

    def delete_manifest(self, repository: str, digest: str) -> bool:
        self._check()
        if digest not in self.world.images:
            return False
        del self.world.images[digest]
        tags = self.world.tags.get(f"{self.host}/{repository}", {})
        for tag in [t for t, d in tags.items() if d == digest]:
            del tags[tag]
        self.world.deleted.append(digest)
        return True

    def ping(self) -> None:
        self._check()

    # Hold tags (service/holds.py): tags on manifests of their own.
    def tags(self, repository: str) -> list[str]:
        self._check()
        return sorted(self.world.tags.get(f"{self.host}/{repository}", {}))

    def put_blob(self, repository: str, data: bytes) -> str:
        self._check()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def put_hold_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        self._check()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.world.documents[digest] = json.loads(body)
        self.world.tags.setdefault(f"{self.host}/{repository}", {})[reference] = digest
        return digest

    def close(self) -> None:
        return None


@dataclass
class FakeTarget:
    """A compute target that answers unless its URL is in ``world.down``.

    ``execute`` runs the job's script as a host process with this Python, in
    the source snapshot, with the job's variables and outputs folder: what a
    container would do with the image, minus the image."""

    world: FakeWorld
    kind: str
    url: str | None

    def check(self) -> None:
        if self.url in self.world.down or self.kind in self.world.down:
            raise EngineError(f"engine {self.url} does not answer (fake: marked down)")

    def run(self, image: str, command: list[str], env: Any) -> tuple[int, str]:
        return 0, ""

    def remove_job(self, name: str) -> int:
        self.world.removed_jobs.append((self.kind, name))
        return 1

    def image_file(self, image: str, path: str, login: Any, on_progress: Sink) -> str | None:
        lock = self.world.locks.get(image.rsplit("@", 1)[-1])
        return "\n".join(lock) + "\n" if lock else None

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int:
        self.check()
        self.world.jobs.append((self.kind, job))
        if self.world.interrupt_jobs:
            raise KeyboardInterrupt
        env = {
            **os.environ,
            **dict(job.variables),
            OUTPUTS_VARIABLE: str(job.outputs),
            "PYTHONUNBUFFERED": "1",
        }
        done = subprocess.run(
            [sys.executable, job.script, *job.arguments],
            cwd=str(job.source),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        on_output(done.stdout.decode("utf-8", errors="replace"))
        return done.returncode


@dataclass
class FakeService:
    spec: ServiceSpec
    port: int
    running: bool = True
    exit_code: int | None = None


@dataclass
class FakeEngine:
    """The engine deployments run on: containers are entries in ``world.services``."""

    world: FakeWorld
    url: str

    def check(self) -> None:
        if self.url in self.world.down:
            raise EngineError(f"docker engine {self.url} unreachable (fake: marked down)")

    def run(self, image: str, command: list[str], env: Any) -> tuple[int, str]:
        self.check()
        if image in self.world.without_server:
            return 1, "ModuleNotFoundError: No module named 'azureml_inference_server_http'"
        return 0, ""

    def start_service(self, spec: ServiceSpec) -> str:
        self.check()
        port = int(spec.command[spec.command.index("--port") + 1])
        container = _digest("container", spec.name)[7:19]
        crashes = spec.image in self.world.crashing_images
        self.world.services[container] = FakeService(spec, port, running=not crashes)
        if crashes:
            self.world.services[container].exit_code = 1
        return container

    def service_state(self, container_id: str) -> ServiceState | None:
        self.check()
        service = self.world.services.get(container_id)
        if service is None:
            return None
        status = "running" if service.running else "exited"
        return ServiceState(status, service.exit_code)

    def service_logs(self, container_id: str, tail: int = 40) -> str:
        service = self.world.services.get(container_id)
        return f"log of {service.spec.name}: init() raised\n" if service else ""

    def remove_service(self, container_id: str, *, grace: int = 10) -> bool:
        self.check()
        return self.world.services.pop(container_id, None) is not None

    def services(self, labels: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
        self.check()
        found = []
        for cid, service in self.world.services.items():
            have = dict(service.spec.labels or {})
            if all(have.get(k) == v for k, v in labels.items()):
                found.append((cid, have))
        return found


@dataclass
class FakeProxy:
    """An endpoint's proxy: its state lives in ``world.proxies[home]``."""

    world: FakeWorld
    home: Path
    port: int

    def start(self, backends: tuple[Backend, ...]) -> None:
        if "proxy" in self.world.down:
            raise EngineError("haproxy is not installed (fake: marked down)")
        self.world.proxies[str(self.home)] = (self.port, backends)
        self.world.proxy_starts += 1

    def reload(self, backends: tuple[Backend, ...]) -> None:
        self.world.proxies[str(self.home)] = (self.port, backends)
        self.world.proxy_reloads += 1

    def stop(self) -> bool:
        return self.world.proxies.pop(str(self.home), None) is not None

    def master_pid(self) -> int | None:
        return 4242 if str(self.home) in self.world.proxies else None

    def serving(self) -> str | None:
        return "config-1" if str(self.home) in self.world.proxies else None


@dataclass
class FakePorts:
    """Loopback ports: ``world.busy`` is what other programs listen on."""

    world: FakeWorld

    def in_use(self, port: int) -> bool:
        return port in self.world.busy or any(s.port == port for s in self.world.services.values())

    def allocate(self, exclude: Collection[int] = ()) -> int:
        port = 20000
        while port in exclude or self.in_use(port):
            port += 1
        return port


@dataclass
class FakeHttp:
    """HTTP to services: a running service answers on its port, and an
    endpoint's port answers with the name of the first backend weighted > 0."""

    world: FakeWorld

    def _port(self, url: str) -> int:
        return int(url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[1])

    def is_live(self, url: str) -> bool:
        port = self._port(url)
        return any(s.port == port and s.running for s in self.world.services.values())

    def wait_until_live(
        self, url: str, *, timeout: float, still_running: Callable[[], bool]
    ) -> str:
        if self.is_live(url) and self._port(url) not in self.world.never_live:
            return "live"
        return "timeout" if still_running() else "exited"

    def post_json(self, url: str, data: bytes, *, timeout: float) -> tuple[int, str]:
        port = self._port(url)
        for held, backends in self.world.proxies.values():
            if held == port:
                chosen = next(b for b in backends if b.weight > 0)
                self.world.posts.append((url, data))
                return 200, json.dumps({"deployment": chosen.name, "echo": json.loads(data)})
        raise EngineError(f"{url} did not answer: connection refused (fake)")


@dataclass
class FakeWorld:
    """Everything outside the process, in memory."""

    root: Path
    #: ``host/repository`` -> tag -> digest.
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    #: digest -> labels of every pushed image.
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Manifest documents written through the fake (hold tags).
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: digest -> the lock inside the image.
    locks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: base image reference (as written) -> digest.
    bases: dict[str, str] = field(default_factory=dict)
    #: hosts and URLs that do not answer.
    down: set[str] = field(default_factory=set)
    #: hosts that need a login: host -> (username, password).
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: every build run, in order.
    builds: list[ImageBuild] = field(default_factory=list)
    #: every inference image build, in order.
    inference_builds: list[InferenceBuild] = field(default_factory=list)
    #: digest -> its layer digests; blob digest -> bytes (for verify's comparison).
    layers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    #: digests ``delete_manifest`` deleted, in order.
    deleted: list[str] = field(default_factory=list)
    #: jobs the compute targets ran: ``(kind, job)``.
    jobs: list[tuple[str, Job]] = field(default_factory=list)
    #: ``(kind, run id)`` of every lost run's leftovers a target was asked to remove.
    removed_jobs: list[tuple[str, str]] = field(default_factory=list)
    #: a job's target raises ``KeyboardInterrupt`` (Ctrl-C) when set.
    interrupt_jobs: bool = False
    #: deployment containers by id.
    services: dict[str, FakeService] = field(default_factory=dict)
    #: images whose server cannot start (the container exits at once).
    crashing_images: set[str] = field(default_factory=set)
    #: user-managed images that lack the inference server.
    without_server: set[str] = field(default_factory=set)
    #: ports whose service never answers ``GET /``.
    never_live: set[int] = field(default_factory=set)
    #: ports other programs listen on.
    busy: set[int] = field(default_factory=set)
    #: proxy home -> (port, backends) of every running endpoint proxy.
    proxies: dict[str, tuple[int, tuple[Backend, ...]]] = field(default_factory=dict)
    proxy_starts: int = 0
    proxy_reloads: int = 0
    #: requests posted to endpoints.
    posts: list[tuple[str, bytes]] = field(default_factory=list)
    #: host virtualenvs made, by hash.
    venvs: list[str] = field(default_factory=list)
    #: a verify's rebuild gives another digest (not reproducible) when set.
    rebuild_digest_changes: bool = False
    requests: int = 0
    #: layer blob digest -> its size (the manifests' descriptors).
    sizes: dict[str, int] = field(default_factory=dict)
    #: seconds each fake layer build "takes" (recorded per layer).
    layer_seconds: float = 1.0
    #: ``has_blob`` questions asked (the cost of a replace in a preview).
    blob_checks: int = 0

    @property
    def workspace_url(self) -> str:
        return f"sqlite:///{self.root / 'workspace.db'}"

    def settings(self, **changes: Any) -> Settings:
        base = Settings(
            base_image="127.0.0.1:5000/mlenv/python:3.11-bookworm",
            registry="127.0.0.1:5000",
            cache_dir=self.root / "cache",
            model_store=self.root / "models",
            runs_dir=self.root / "runs",
            workspace_url=self.workspace_url,
            ca_bundle=None,
        )
        return base.with_overrides(**changes)

    def move_tag(self, reference: str) -> str:
        """Point a base tag at a new digest, as a push of a new base would."""
        self.bases[reference] = _digest(reference, str(len(self.bases)), str(self.requests))
        return self.bases[reference]

    def _resolve_base(self, reference: str, settings: Settings) -> str:
        if "@" in reference:
            return reference.split("@", 1)[1]
        if reference not in self.bases:
            self.move_tag(reference)
        if reference.split("/", 1)[0] in self.down:
            raise RegistryError(f"base image {reference}: registry unreachable (fake)")
        return self.bases[reference]

    def _build(self, plan: ImageBuild, progress: Any) -> BuiltImage:
        self.builds.append(plan)
        pins = (plan.spec.python.conda.pip if plan.spec.python.conda else ()) or ()
        if any(p.startswith(FAILING_PACKAGE.split("==")[0]) for p in pins):
            raise BuildError(
                "building image: step 2 (pip install) failed",
                log_tail="No matching distribution found for does-not-exist-anywhere==1.0",
                failed_package="does-not-exist-anywhere",
            )
        # A no-cache build of unpinned packages may give another digest.
        varies = plan.no_cache and (
            self.rebuild_digest_changes
            or not plan.image_name.rsplit(":", 1)[-1].startswith("verify-")
        )
        digest = _digest(plan.env_hash, str(len(self.builds)) if varies else "")
        host_repo, _, tag = plan.image_name.rpartition(":")
        self.tags.setdefault(host_repo, {})[tag] = digest
        self.images[digest] = dict(plan.labels)
        self.locks[digest] = tuple(p for p in pins if "==" in p)
        # The layers a real build makes (imaging.layer_plan), one base layer
        # below them; reproducible: a layer's digest follows its key.
        layers = plan_layers(
            plan.spec,
            base_ref=plan.base_ref,
            env_hash=plan.env_hash,
            pins=tuple(sorted(self.locks[digest])) or None,
            installer=plan.installer,
        )
        timed = tuple(TimedLayer(x.slot, x.key, self.layer_seconds) for x in layers)
        blobs = tuple(_digest("layer", x.key) for x in layers)
        for layer, blob in zip(layers, blobs, strict=True):
            self.sizes[blob] = self.layer_size(layer.slot)
        self.layers[digest] = (_digest("base", plan.base_ref), *blobs)
        return BuiltImage(
            digest=digest,
            dockerfile=f"FROM {plan.base_ref}\n",
            lock=self.locks[digest],
            seconds=0.01 + self.layer_seconds * len(layers),
            log_tail="",
            layers=timed,
        )

    def layer_size(self, slot: str) -> int:
        """A layer's pushed size: 2 MB for a large distribution's, 100 kB else."""
        return 2_000_000 if slot in LARGE else 100_000

    def _build_inference(self, plan: InferenceBuild, progress: Any) -> BuiltInference:
        self.inference_builds.append(plan)
        digest = _digest("inference", plan.image_name)
        host_repo, _, tag = plan.image_name.rpartition(":")
        self.tags.setdefault(host_repo, {})[tag] = digest
        self.images[digest] = {"org.pulumi-mlenv.inference.code": plan.code_hash}
        return BuiltInference(digest, f"FROM {plan.env_image}\n", 0.01)

    def _local_env(self, spec: EnvironmentSpec, env_hash: str, settings: Settings) -> Path:
        """A host "virtualenv": ``bin/python`` is this Python, the lock the pins."""
        venv = Path(settings.cache_dir).expanduser() / "venvs" / env_hash
        if not (venv / ".mlenv-complete").exists():
            self.venvs.append(env_hash)
            (venv / "bin").mkdir(parents=True, exist_ok=True)
            if not (venv / "bin" / "python").exists():
                (venv / "bin" / "python").symlink_to(sys.executable)
            pins = (spec.python.conda.pip if spec.python.conda else ()) or ()
            (venv / "lock.txt").write_text("".join(f"{p}\n" for p in pins if "==" in p))
            (venv / ".mlenv-complete").write_text("")
        return venv

    def outside(self) -> Outside:
        return Outside(
            workspace=Workspace,
            runs=RunStore,
            serving=ServingStore,
            registry=lambda address, settings: FakeRegistry(self, address, settings),
            build=self._build,
            build_inference=self._build_inference,
            resolve_base=self._resolve_base,
            compute=lambda kind, url, settings=None: _target(self, kind, url),
            engine=lambda url: FakeEngine(self, url),
            proxy=lambda home, port: FakeProxy(self, home, port),
            tcp=FakePorts(self),
            http=FakeHttp(self),
            local_env=self._local_env,
            # The stores are real SQLite, so is the read that spares opening them.
            quick_version=try_registered_version,
            quick_targets=try_compute_targets,
            # The environment's own interpreter: no Ray cluster in the fast tier.
            ray_layer=lambda venv, lock, version, cache: RayLayer(
                venv / "bin" / "python", (), False
            ),
        )


def _target(world: FakeWorld, kind: str, url: str | None) -> ComputeTarget:
    from pulumi_mlenv.compute import parse_target

    parse_target(kind, url if kind != "docker" else url or "unix:///fake.sock")  # validates
    return FakeTarget(world, kind, url)
