"""Supply chain end to end, on registries of the test's own (Debian's
docker-registry on free loopback ports): SBOM and provenance attached as
OCI referrers and read back through the registry's HTTP API, a signed
pair checked with securesystemslib, a verify checked against the
provenance, and a bundle carried from one registry and workspace to
another, then run with the first registry gone and no package index.

One module walks the steps in order (the registry A is stopped last)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.registry import request_count, reset_request_count
from pulumi_mlenv.service.bundles import export_bundle, import_bundle
from pulumi_mlenv.service.environments import Provisioned, provision, resolve
from pulumi_mlenv.service.images import ensure_image
from pulumi_mlenv.service.verify import verify_image
from pulumi_mlenv.workspace import Workspace
from support.auth_registry import plain_registry

pytestmark = pytest.mark.docker

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _definition(name: str, *pip: str) -> Any:
    return parse_definition(
        {
            "name": name,
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}},
        }
    )


@dataclass
class Site:
    """Registry A (where images are built) and the settings that use it."""

    settings: Settings
    registry_a: str
    stop_a: ExitStack
    root: Path


@pytest.fixture(scope="module")
def site(machine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("supply")
    stack = ExitStack()
    address = stack.enter_context(plain_registry(root, _free_port()))
    settings = replace(
        Settings.from_env(),
        registry=address,
        workspace_url=f"sqlite:///{root / 'a.db'}",
        cache_dir=root / "cache",
    )
    yield Site(settings, address, stack, root)
    stack.close()


@pytest.fixture(scope="module")
def built(site: Site) -> Provisioned:
    return provision(
        resolve(_definition("supply", "six==1.16.0"), site.settings), settings=site.settings
    )


def _get(address: str, path: str, accept: str = MANIFEST) -> requests.Response:
    return requests.get(f"http://{address}{path}", headers={"Accept": accept}, timeout=10)


def _referrers(address: str, image: str) -> dict[str, dict[str, Any]]:
    """artifactType -> {manifest, blob bytes}, read through the HTTP API."""
    repository, _, digest = image.split("/", 1)[1].partition("@")
    # distribution 2.8 has no referrers API: the fallback tag answers.
    assert _get(address, f"/v2/{repository}/referrers/{digest}", INDEX).status_code == 404
    tag = "sha256-" + digest.split(":")[1]
    index = _get(address, f"/v2/{repository}/manifests/{tag}", INDEX)
    assert index.status_code == 200, index.text
    found: dict[str, dict[str, Any]] = {}
    for entry in index.json()["manifests"]:
        manifest = _get(address, f"/v2/{repository}/manifests/{entry['digest']}").json()
        assert manifest["subject"]["digest"] == digest
        layer = manifest["layers"][0]
        blob = _get(address, f"/v2/{repository}/blobs/{layer['digest']}").content
        found[entry["artifactType"]] = {"manifest": manifest, "blob": blob, "entry": entry}
    return found


def test_sbom_and_provenance_are_attached_as_referrers(site: Site, built: Provisioned) -> None:
    assert built.built and built.sbom and built.provenance
    found = _referrers(site.registry_a, built.image)
    sbom = json.loads(found["application/vnd.cyclonedx+json"]["blob"])
    names = {(c["name"], c["version"]) for c in sbom["components"]}
    assert ("six", "1.16.0") in names
    assert any(c["purl"].startswith("pkg:deb/debian/libc6@") for c in sbom["components"])
    props = {p["name"]: p["value"] for p in sbom["metadata"]["component"]["properties"]}
    assert props["pulumi-mlenv:environment"] == f"supply:{built.version}"
    statement = json.loads(found["application/vnd.in-toto+json"]["blob"])
    assert statement["subject"][0]["digest"]["sha256"] == built.image.split("sha256:")[1]
    deps = {d["name"]: d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert deps["lock"]["annotations"]["lines"] == ["six==1.16.0"]
    assert "base-image" in deps
    # Unsigned, and saying so: raw documents, no signer annotation.
    for item in found.values():
        assert item["manifest"]["layers"][0]["mediaType"] != "application/vnd.dsse.envelope.v1+json"
        assert not any("signed-by" in k for k in item["manifest"].get("annotations", {}))
    # The resource's outputs are these referrers, by digest.
    assert built.sbom.endswith(found["application/vnd.cyclonedx+json"]["entry"]["digest"])


def _cli(site: Site, *args: str) -> Any:
    env = {"MLENV_REGISTRY": site.registry_a, "MLENV_WORKSPACE": site.settings.workspace_url}
    return CliRunner().invoke(app, list(args), env={**os.environ, **env})


def test_mlenv_image_sbom_and_provenance_print_them(site: Site, built: Provisioned) -> None:
    table = _cli(site, "image", "sbom", f"supply:{built.version}")
    assert table.exit_code == 0, table.output
    assert "six" in table.stdout and "libc6" in table.stdout
    as_json = _cli(site, "image", "sbom", "--json", built.image)
    assert json.loads(as_json.stdout)["bomFormat"] == "CycloneDX"
    prov = _cli(site, "image", "provenance", f"supply:{built.version}")
    assert prov.exit_code == 0 and "base digest" in prov.stdout and "sha256:" in prov.stdout


def test_a_cache_hit_costs_one_registry_request_more(site: Site, built: Provisioned) -> None:
    again = resolve(_definition("supply-again", "six==1.16.0"), site.settings)
    with Workspace(site.settings.workspace_url) as store:
        reset_request_count()
        ensure_image(again, settings=site.settings, workspace=store)
        without = request_count()
    reset_request_count()
    hit = provision(again, settings=site.settings)
    assert not hit.built and hit.sbom == built.sbom and hit.provenance == built.provenance
    assert request_count() - without == 1


@pytest.fixture(scope="module")
def key(site: Site) -> tuple[Path, ed25519.Ed25519PrivateKey]:
    private = ed25519.Ed25519PrivateKey.generate()
    path = site.root / "signing.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, private


@pytest.fixture(scope="module")
def signed(site: Site, key: tuple[Path, ed25519.Ed25519PrivateKey]) -> Provisioned:
    """Version ``signed:1``, provisioned with the signing key configured (a
    fixture, so every test that needs it has it whatever order tests run in)."""
    settings = replace(site.settings, signing_key=str(key[0]))
    return provision(
        resolve(_definition("signed", "six==1.16.0", "idna==3.7"), settings), settings=settings
    )


def test_with_a_key_both_are_dsse_envelopes_that_securesystemslib_verifies(
    site: Site, key: tuple[Path, ed25519.Ed25519PrivateKey], signed: Provisioned
) -> None:
    found = _referrers(site.registry_a, signed.image)
    for artifact_type, item in found.items():
        assert item["manifest"]["layers"][0]["mediaType"] == "application/vnd.dsse.envelope.v1+json"
        envelope = Envelope.from_dict(json.loads(item["blob"]))
        assert envelope.payload_type == artifact_type
        (keyid,) = envelope.signatures  # one signature, named by our key id
        public = SSlibKey.from_crypto(key[1].public_key(), keyid=keyid)
        assert set(envelope.verify([public], 1)) == {keyid}
    pem = site.root / "public.pem"
    pem.write_bytes(
        key[1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    checked = _cli(site, "image", "sbom", "signed:1", "--key", str(pem))
    assert checked.exit_code == 0, checked.output
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    pem.write_bytes(
        other.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert _cli(site, "image", "provenance", "signed:1", "--key", str(pem)).exit_code == 1


def test_verify_checks_the_rebuild_against_the_provenance(site: Site, built: Provisioned) -> None:
    result = verify_image(f"supply:{built.version}", settings=site.settings)
    assert result.identical
    assert result.provenance == built.provenance and result.matches_provenance


def test_a_bundle_carries_versions_to_another_registry_without_network(
    site: Site, built: Provisioned, key: tuple[Path, ed25519.Ed25519PrivateKey], signed: Provisioned
) -> None:
    bundle = site.root / "bundle.tar"
    exported = export_bundle(["supply:1", "signed:1"], bundle, settings=site.settings)
    assert [(e.name, e.version, e.referrers) for e in exported] == [
        ("supply", "1", 2),
        ("signed", "1", 2),
    ]
    layout = subprocess.run(["tar", "tf", str(bundle)], capture_output=True, text=True, check=True)
    assert {"oci-layout", "index.json"} <= set(layout.stdout.split())
    secret = key[0].read_text().splitlines()[1]
    assert secret.encode() not in bundle.read_bytes()
    site.stop_a.close()  # registry A is gone from here on
    with ExitStack() as stack:
        (site.root / "b").mkdir()
        address_b = stack.enter_context(plain_registry(site.root / "b", _free_port()))
        other = replace(
            site.settings, registry=address_b, workspace_url=f"sqlite:///{site.root / 'b.db'}"
        )
        imported = import_bundle(bundle, settings=other)
        assert [(e.name, e.version, e.env_hash, e.digest) for e in imported] == [
            (e.name, e.version, e.env_hash, e.digest) for e in exported
        ]
        with Workspace(other.workspace_url) as store:
            version = store.get_version("supply", "1")
            assert version is not None and version.env_hash == exported[0].env_hash
            assert version.image.startswith(address_b) and version.image.endswith(
                exported[0].digest
            )
            record = store.find_image_by_digest(exported[0].digest)
            assert record is not None and record.lock == ("six==1.16.0",)
        found = _referrers(address_b, imported[1].image)
        assert set(found) == {"application/vnd.cyclonedx+json", "application/vnd.in-toto+json"}
        assert _cli_on(address_b, other, "image", "sbom", "signed:1").exit_code == 0
        # The imported image runs with no package index and no registry A.
        image = imported[0].image
        subprocess.run(["docker", "pull", "-q", image], check=True, capture_output=True)
        try:
            ran = subprocess.run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--network",
                    "host",
                    "-e",
                    "PIP_INDEX_URL=http://127.0.0.1:9/simple",
                    "-e",
                    "UV_INDEX_URL=http://127.0.0.1:9/simple",
                    image,
                    "python",
                    "-c",
                    "import six; print(six.__version__)",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            assert ran.returncode == 0, ran.stderr
            assert ran.stdout.strip() == "1.16.0"
        finally:
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


def _cli_on(address: str, settings: Settings, *args: str) -> Any:
    env = {"MLENV_REGISTRY": address, "MLENV_WORKSPACE": settings.workspace_url}
    return CliRunner().invoke(app, list(args), env={**os.environ, **env})
