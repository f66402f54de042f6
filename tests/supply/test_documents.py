"""The supply-chain documents, made and checked without any daemon: the
SBOM against CycloneDX's own schema validator, DSSE signatures against
securesystemslib (DSSE's reference implementation), the provenance
comparison a verify makes, and what a preview says of the lock."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.dpkg import DebPackage, parse_status
from pulumi_mlenv.imaging.dsse import load_signer, sign_envelope, verify_envelope
from pulumi_mlenv.imaging.provenance import (
    PREDICATE_TYPE,
    ProvenanceFacts,
    Step,
    check_rebuild,
    lock_digest,
    make_provenance,
)
from pulumi_mlenv.imaging.sbom import SbomFacts, make_sbom, sbom_rows
from pulumi_mlenv.policy.lock_preview import pinned_lock_changes
from pulumi_mlenv.registry.referrers import fallback_tag, referrer_manifest

STATUS = """\
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library
 a continuation line

Package: old-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: python3.11
Status: install ok installed
Architecture: amd64
Version: 3.11.2-6
"""

DIGEST = "sha256:" + "ab" * 32
BASE = "sha256:" + "cd" * 32


def test_dpkg_status_lists_installed_packages_only() -> None:
    assert parse_status(STATUS) == (
        DebPackage("libc6", "2.36-9+deb12u7", "amd64", "glibc"),
        DebPackage("python3.11", "3.11.2-6", "amd64"),
    )


def _sbom(**changes: object) -> dict[str, object]:
    facts = SbomFacts(
        image="127.0.0.1:5000/mlenv/env",
        digest=DIGEST,
        env_hash="e" * 64,
        definition_hash="d" * 64,
        environment="train:3",
        recipe="4",
        base_image=f"127.0.0.1:5000/mlenv/python@{BASE}",
        lock=("numpy==2.1.3", "six==1.16.0"),
        debian=parse_status(STATUS),
        hashes={"six": ("f" * 64,)},
    )
    for key, value in changes.items():
        object.__setattr__(facts, key, value)
    document = make_sbom(facts)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(document.decode())
    assert errors is None, errors
    return dict(json.loads(document))


def test_sbom_is_valid_cyclonedx_with_lock_debian_packages_and_definition() -> None:
    doc = _sbom()
    assert doc["bomFormat"] == "CycloneDX"
    assert sbom_rows(doc) == [
        ("deb", "libc6", "2.36-9+deb12u7"),
        ("deb", "python3.11", "3.11.2-6"),
        ("pypi", "numpy", "2.1.3"),
        ("pypi", "six", "1.16.0"),
    ]
    components = {c["name"]: c for c in doc["components"]}  # type: ignore[attr-defined]
    assert components["six"]["hashes"] == [{"alg": "SHA-256", "content": "f" * 64}]
    assert "hashes" not in components["numpy"]  # not known: none pretended
    image = doc["metadata"]["component"]  # type: ignore[index]
    props = {p["name"]: p["value"] for p in image["properties"]}
    assert props["pulumi-mlenv:definition-hash"] == "d" * 64
    assert props["pulumi-mlenv:environment"] == "train:3"
    assert image["version"] == DIGEST


def test_sbom_identity_follows_the_image() -> None:
    assert _sbom()["serialNumber"] == _sbom()["serialNumber"]
    assert _sbom()["serialNumber"] != _sbom(digest="sha256:" + "01" * 32)["serialNumber"]


def _provenance() -> dict[str, object]:
    facts = ProvenanceFacts(
        image="127.0.0.1:5000/mlenv/env",
        digest=DIGEST,
        env_hash="e" * 64,
        definition_hash="d" * 64,
        environment="train:3",
        base_image="127.0.0.1:5000/mlenv/python:3.11-bookworm",
        base_digest=BASE,
        recipe="4",
        installer="uv",
        lock=("six==1.16.0",),
        dockerfile="FROM base\n",
        steps=(Step("(base image)", "sha256:" + "11" * 32), Step("COPY", "sha256:" + "22" * 32)),
        builder="unix:///run/buildkitd.sock",
        buildkit_version="v0.34.2",
        mlenv_version="0.1.0",
    )
    return dict(json.loads(make_provenance(facts)))


def test_provenance_is_an_in_toto_statement_with_slsa_v1() -> None:
    statement = _provenance()
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"] == [
        {"name": "127.0.0.1:5000/mlenv/env", "digest": {"sha256": "ab" * 32}}
    ]
    predicate = statement["predicate"]
    builder = predicate["runDetails"]["builder"]  # type: ignore[index]
    assert builder["version"]["buildkit"] == "v0.34.2"
    deps = {d["name"]: d for d in predicate["buildDefinition"]["resolvedDependencies"]}  # type: ignore[index]
    assert deps["base-image"]["digest"] == {"sha256": "cd" * 32}
    assert deps["lock"]["digest"] == {"sha256": lock_digest(["six==1.16.0"])[7:]}


STEPS = [Step("(base image)", "sha256:" + "11" * 32), Step("COPY", "sha256:" + "22" * 32)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"digest": "sha256:" + "99" * 32}, ["image digest"]),
        ({"base_digest": "sha256:" + "98" * 32}, ["base image"]),
        ({"lock": ["six==1.17.0"]}, ["lock"]),
        ({"steps": [STEPS[0], Step("COPY", "sha256:" + "33" * 32)]}, ["step 1"]),
    ],
)
def test_a_rebuild_is_checked_against_the_provenance(
    change: dict[str, object], expected: list[str]
) -> None:
    facts: dict[str, object] = {
        "digest": DIGEST,
        "base_digest": BASE,
        "lock": ["six==1.16.0"],
        "steps": STEPS,
    }
    facts.update(change)
    problems = check_rebuild(_provenance(), **facts)  # type: ignore[arg-type]
    assert [p.split(":")[0].split(" (")[0] for p in problems] == expected


def _ed25519(tmp_path: Path) -> tuple[Path, ed25519.Ed25519PrivateKey]:
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def _ecdsa(tmp_path: Path) -> tuple[Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "signing-ec.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


@pytest.mark.parametrize("make_key", [_ed25519, _ecdsa], ids=["ed25519", "ecdsa-p256"])
def test_dsse_envelopes_verify_with_securesystemslib(tmp_path: Path, make_key: object) -> None:
    path, key = make_key(tmp_path)  # type: ignore[operator]
    signer = load_signer(str(path))
    payload = json.dumps(_provenance()).encode()
    envelope = sign_envelope(payload, "application/vnd.in-toto+json", signer)
    public = SSlibKey.from_crypto(key.public_key(), keyid=signer.keyid)
    parsed = Envelope.from_dict(json.loads(envelope))
    assert set(parsed.verify([public], 1)) == {signer.keyid}
    assert parsed.payload == payload
    # Our own check agrees, and a changed payload fails both.
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert verify_envelope(envelope, pem) == payload
    forged = json.loads(envelope)
    forged["payload"] = base64.b64encode(payload.replace(b"train:3", b"train:4")).decode()
    with pytest.raises(VerificationError):
        Envelope.from_dict(forged).verify([public], 1)
    with pytest.raises(MlenvError, match="no valid signature"):
        verify_envelope(json.dumps(forged).encode(), pem)


def test_a_bad_key_file_is_named_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(MlenvError) as err:
        load_signer(str(path))
    assert str(path) in str(err.value) and "c2VjcmV0" not in str(err.value)
    assert "keyid" in repr(load_signer(str(_ed25519(tmp_path)[0])))


def test_referrer_manifest_and_fallback_tag() -> None:
    body = referrer_manifest(
        subject={
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": DIGEST,
            "size": 9,
        },
        artifact_type="application/vnd.cyclonedx+json",
        payload=b"{}",
        media_type="application/vnd.cyclonedx+json",
        annotations={"a": "b"},
    )
    doc = json.loads(body)
    assert doc["subject"]["digest"] == DIGEST
    assert doc["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert fallback_tag(DIGEST) == "sha256-" + "ab" * 32


def _spec(*pip: str, conda: tuple[str, ...] = ()) -> object:
    return parse_definition(
        {
            "name": "x",
            "python": {"conda": {"dependencies": ["python=3.11", *conda, {"pip": list(pip)}]}},
        }
    )


@pytest.mark.parametrize(
    ("pip", "conda", "expected"),
    [
        (("six==1.16.0",), (), []),
        (("six==1.17.0",), (), ["six 1.16.0 -> 1.17.0"]),
        (("six==1.16.0", "idna==3.7"), (), ["+ idna 3.7.0"]),
        (("six==1.16",), (), []),  # the same version, written shorter
        (("six",), (), []),  # unpinned: resolved at build time, not known before
        (("six>=1.0",), (), []),
        ((), ("numpy=2.1.0",), ["numpy 1.26.4 -> 2.1.0"]),
    ],
)
def test_preview_knows_the_lock_changes_of_pins(
    pip: tuple[str, ...], conda: tuple[str, ...], expected: list[str]
) -> None:
    old = ("numpy==1.26.4", "six==1.16.0")
    assert pinned_lock_changes(old, _spec(*pip, conda=conda)) == expected  # type: ignore[arg-type]
