"""In-memory backends for the fast tier: registries, a builder, base-tag
resolution and compute targets that live in one ``FakeWorld``.

They stand in for the daemons only to drive the decisions of the use cases
and resources (check, diff, create, update, read, delete) in milliseconds;
the workspace stays real (SQLite in a temporary folder). Every behaviour
they imitate is exercised against the real daemons once in the engine tier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pulumi_mlenv.compute import ComputeTarget
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import BuildError, EngineError, RegistryError
from pulumi_mlenv.imaging.builder import BuiltImage, ImageBuild
from pulumi_mlenv.registry import ManifestInfo
from pulumi_mlenv.service.ports import Backends
from pulumi_mlenv.workspace import Workspace

#: A pip requirement that makes the fake build fail, as a bad package would.
FAILING_PACKAGE = "does-not-exist-anywhere==1.0"


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class FakeRegistry:
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

    def ping(self) -> None:
        self._check()

    # Hold tags (service/holds.py): kept as tags on manifests of their own.
    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        digest = self.digest_of(repository, reference)
        doc = self.world.documents.get(digest or "")
        return (digest, doc) if digest and doc is not None else None

    def tags(self, repository: str) -> list[str]:
        self._check()
        return sorted(self.world.tags.get(f"{self.host}/{repository}", {}))

    def put_blob(self, repository: str, data: bytes) -> str:
        self._check()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        self._check()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.world.documents[digest] = json.loads(body)
        self.world.images.setdefault(digest, {})
        self.world.tags.setdefault(f"{self.host}/{repository}", {})[reference] = digest
        return digest

    def delete_manifest(self, repository: str, digest: str) -> bool:
        self._check()
        tags = self.world.tags.get(f"{self.host}/{repository}", {})
        gone = [t for t, d in tags.items() if d == digest]
        for tag in gone:
            del tags[tag]
        return self.world.images.pop(digest, None) is not None

    def __enter__(self) -> FakeRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


@dataclass
class FakeTarget:
    """A compute target that answers unless its URL is in ``world.down``."""

    world: FakeWorld
    kind: str
    url: str | None

    def check(self) -> None:
        if self.url in self.world.down:
            raise EngineError(f"engine {self.url} does not answer (fake: marked down)")

    def run(self, image: str, command: list[str], env: Any) -> tuple[int, str]:
        return 0, ""


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
    requests: int = 0

    @property
    def workspace_url(self) -> str:
        return f"sqlite:///{self.root / 'workspace.db'}"

    def settings(self, **changes: Any) -> Settings:
        base = Settings(
            base_image="127.0.0.1:5000/mlenv/python:3.11-bookworm",
            registry="127.0.0.1:5000",
            cache_dir=self.root / "cache",
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
        digest = _digest(plan.env_hash, str(len(self.builds)) if plan.no_cache else "")
        host_repo, _, tag = plan.image_name.rpartition(":")
        self.tags.setdefault(host_repo, {})[tag] = digest
        self.images[digest] = dict(plan.labels)
        self.locks[digest] = tuple(p for p in pins if "==" in p)
        return BuiltImage(
            digest=digest,
            dockerfile=f"FROM {plan.base_ref}\n",
            lock=self.locks[digest],
            seconds=0.01,
            log_tail="",
        )

    def backends(self) -> Backends:
        return Backends(
            registry=lambda address, settings: FakeRegistry(self, address, settings),
            build=self._build,
            resolve_base=self._resolve_base,
            store=Workspace,
            compute=lambda kind, url: _target(self, kind, url),
        )


def _target(world: FakeWorld, kind: str, url: str | None) -> ComputeTarget:
    from pulumi_mlenv.compute import parse_target

    parse_target(kind, url if kind != "docker" else url or "unix:///fake.sock")  # validates
    return FakeTarget(world, kind, url)
