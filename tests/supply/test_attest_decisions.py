"""When ``attest`` makes, signs and attaches the documents, against an
in-memory registry that takes referrers (the real one is exercised in
test_supply_chain.py): what is missing is made once, a reused image costs
one lookup, a key signs both, no key signs nothing, and a base's dpkg
database is read once per machine."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.registry.referrers import Referrer, referrer_manifest
from pulumi_mlenv.service.images import EnsureResult
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment
from pulumi_mlenv.service.supply import attest
from support.fakes import FakeWorld

STATUS = b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n"
OCI = "application/vnd.oci.image.manifest.v1+json"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class FakeArtifacts:
    """Manifests and blobs by digest; referrers by subject; every call counted."""

    host: str = "127.0.0.1:5999"
    manifests: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    attached: dict[str, list[Referrer]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def raw_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes] | None:
        self.calls.append("manifest")
        body = self.manifests.get(reference)
        return (reference, OCI, body) if body is not None else None

    def blob(self, repository: str, digest: str) -> bytes:
        self.calls.append("blob")
        return self.blobs[digest]

    def open_blob(self, repository: str, digest: str) -> io.BytesIO:
        self.calls.append(f"layer {digest}")
        return io.BytesIO(self.blobs[digest])

    def referrers(
        self,
        repository: str,
        digest: str,
        artifact_type: str | None = None,
        *,
        prefer_tag: bool = False,
    ) -> list[Referrer]:
        self.calls.append("referrers")
        found = self.attached.get(digest, [])
        return [r for r in found if artifact_type is None or r.artifact_type == artifact_type]

    def attach(self, repository: str, subject: Any, **kw: Any) -> Referrer:
        self.calls.append("attach")
        body = referrer_manifest(subject=subject, **kw)
        self.blobs[_sha(kw["payload"])] = kw["payload"]
        self.manifests[_sha(body)] = body
        referrer = Referrer(_sha(body), kw["artifact_type"], len(body), dict(kw["annotations"]))
        self.attached.setdefault(subject["digest"], []).append(referrer)
        return referrer

    def __enter__(self) -> FakeArtifacts:
        return self

    def __exit__(
        self, a: type[BaseException] | None, b: BaseException | None, c: TracebackType | None
    ) -> None:
        return None

    def push_image(self, layers: list[bytes]) -> str:
        for layer in layers:
            self.blobs[_sha(layer)] = layer
        config = json.dumps(
            {"history": [{"created_by": "base"}] + [{"created_by": "RUN step"}] * (len(layers) - 1)}
        ).encode()
        self.blobs[_sha(config)] = config
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI,
                "config": {"digest": _sha(config), "size": len(config)},
                "layers": [{"digest": _sha(x), "size": len(x)} for x in layers],
            }
        ).encode()
        self.manifests[_sha(manifest)] = manifest
        return _sha(manifest)


@pytest.fixture
def world(tmp_path: Path) -> tuple[FakeArtifacts, Outside, Settings]:
    fake = FakeArtifacts()
    backends = replace(FakeWorld(tmp_path).outside(), artifacts=lambda address, s: fake)
    settings = replace(Settings(), cache_dir=tmp_path / "cache")
    return fake, backends, settings


def _result(digest: str, built: bool = True) -> EnsureResult:
    return EnsureResult(
        env_hash="e" * 64,
        image=f"127.0.0.1:5999/mlenv/env@{digest}",
        registry="127.0.0.1:5999",
        repository="mlenv/env",
        digest=digest,
        size=1,
        built=built,
        reused_from=None if built else "workspace",
        seconds=1.0,
        lock=("six==1.16.0",),
        dockerfile="FROM base\n",
    )


def _target() -> ResolvedEnvironment:
    spec = parse_definition(
        {
            "name": "t",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.16.0"]}]}},
        }
    )
    return ResolvedEnvironment(spec, "e" * 64, "d" * 64, None, None, ())


BASE = _layer({"var/lib/dpkg/status": STATUS})


def test_a_new_image_gets_both_once_and_a_reuse_costs_one_lookup(
    world: tuple[FakeArtifacts, Outside, Settings],
) -> None:
    fake, backends, settings = world
    digest = fake.push_image([BASE, _layer({"app": b"x"})])
    first = attest(_result(digest), _target(), "t:1", settings=settings, outside=backends)
    assert first.sbom and first.provenance and not first.signed
    assert fake.calls.count("attach") == 2
    fake.calls.clear()
    again = attest(
        _result(digest, built=False), _target(), "t:2", settings=settings, outside=backends
    )
    assert again == first
    assert fake.calls == ["referrers"]


def test_the_sbom_lists_the_dpkg_packages_of_the_top_layer_that_has_them(
    world: tuple[FakeArtifacts, Outside, Settings],
) -> None:
    fake, backends, settings = world
    upper = _layer(
        {
            "var/lib/dpkg/status": STATUS
            + b"\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88\n"
        }
    )
    digest = fake.push_image([BASE, upper])
    attest(_result(digest), _target(), "t:1", settings=settings, outside=backends)
    (sbom,) = [
        json.loads(v) for v in fake.blobs.values() if v.startswith(b"{") and b"CycloneDX" in v
    ]
    names = {c["name"] for c in sbom["components"]}
    assert {"libc6", "curl", "six"} <= names


def test_a_base_is_read_once_per_machine(world: tuple[FakeArtifacts, Outside, Settings]) -> None:
    fake, backends, settings = world
    one = fake.push_image([BASE, _layer({"a": b"1"})])
    two = fake.push_image([BASE, _layer({"b": b"2"})])
    attest(_result(one), _target(), "t:1", settings=settings, outside=backends)
    fake.calls.clear()
    attest(_result(two), _target(), "t:2", settings=settings, outside=backends)
    assert f"layer {_sha(BASE)}" not in fake.calls  # known by its digest


def test_with_a_key_both_are_signed_without_one_neither(
    world: tuple[FakeArtifacts, Outside, Settings], tmp_path: Path
) -> None:
    fake, backends, settings = world
    key = tmp_path / "k.pem"
    key.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signed = fake.push_image([BASE, _layer({"s": b"1"})])
    plain = fake.push_image([BASE, _layer({"p": b"1"})])
    got = attest(
        _result(signed),
        _target(),
        "t:1",
        settings=replace(settings, signing_key=str(key)),
        outside=backends,
    )
    assert got.signed
    layers = [
        json.loads(fake.manifests[r.digest])["layers"][0]["mediaType"]
        for r in fake.attached[signed]
    ]
    assert layers == ["application/vnd.dsse.envelope.v1+json"] * 2
    assert not attest(_result(plain), _target(), "t:2", settings=settings, outside=backends).signed
    layers = [
        json.loads(fake.manifests[r.digest])["layers"][0]["mediaType"] for r in fake.attached[plain]
    ]
    assert layers == ["application/vnd.cyclonedx+json", "application/vnd.in-toto+json"]
    assert all("signed-by" not in " ".join(r.annotations) for r in fake.attached[plain])


def test_a_world_without_artifacts_attaches_nothing(tmp_path: Path) -> None:
    backends = FakeWorld(tmp_path).outside()
    got = attest(
        _result("sha256:" + "0" * 64), _target(), "t:1", settings=Settings(), outside=backends
    )
    assert (got.sbom, got.provenance, got.signed) == (None, None, False)


def test_no_credential_reaches_a_document(world: tuple[FakeArtifacts, Outside, Settings]) -> None:
    fake, backends, settings = world
    digest = fake.push_image([BASE, _layer({"c": b"1"})])
    result = replace(
        _result(digest), lock=("pkg @ https://user:secret-token@pkgs.example/pkg.whl",)
    )
    attest(result, _target(), "t:1", settings=settings, outside=backends)
    assert fake.calls.count("attach") == 2
    assert not [b for b in fake.blobs.values() if b"secret-token" in b]
