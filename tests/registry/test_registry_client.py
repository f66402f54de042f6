"""RegistryClient against the real local registry (and a second one with auth)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime

import docker
import pytest
import requests
from registry_helpers import AuthRegistry, PushImage, free_port

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry import (
    RegistryClient,
    is_insecure_host,
    request_count,
    reset_request_count,
)

pytestmark = pytest.mark.docker

BASE_REPO = "mlenv/python"
BASE_TAG = "3.11-bookworm"


@pytest.fixture
def client(registry_address: str) -> RegistryClient:
    return RegistryClient(registry_address)


def test_ping_answers(client: RegistryClient):
    client.ping()


def test_ping_unreachable_names_the_url_on_one_line():
    port = free_port()  # bound then released: nothing listens there
    with pytest.raises(RegistryError) as info:
        RegistryClient(f"127.0.0.1:{port}", timeout=2).ping()
    text = str(info.value)
    assert text.startswith(
        f"registry 127.0.0.1:{port} unreachable (tried http://127.0.0.1:{port}/v2/): "
    )
    assert "\n" not in text
    assert text.endswith("connection refused")


def test_digest_of_present_absent_and_unreachable(
    client: RegistryClient, namespace: str, push_image: PushImage
):
    repo = f"{namespace}/env"
    pushed = push_image(repo, "t1")
    cases = [
        (repo, "t1", pushed),
        (repo, pushed, pushed),  # by digest
        (repo, "no-such-tag", None),  # MANIFEST_UNKNOWN
        (f"{namespace}/no-such-repo", "t1", None),  # NAME_UNKNOWN
        (repo, "sha256:" + "0" * 64, None),
    ]
    for repository, reference, expected in cases:
        assert client.digest_of(repository, reference) == expected, (repository, reference)
    port = free_port()
    with pytest.raises(RegistryError, match=rf"unreachable \(tried http://127.0.0.1:{port}/v2/"):
        RegistryClient(f"127.0.0.1:{port}", timeout=2).digest_of(repo, "t1")


def test_digest_of_base_image_is_the_manifest_digest(client: RegistryClient, registry_address: str):
    answer = requests.get(
        f"http://{registry_address}/v2/{BASE_REPO}/manifests/{BASE_TAG}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert client.digest_of(BASE_REPO, BASE_TAG) == answer.headers["Docker-Content-Digest"]


def test_manifest_info_of_the_base_image(client: RegistryClient, registry_address: str):
    info = client.manifest_info(BASE_REPO, BASE_TAG)
    assert info is not None
    manifest = requests.get(
        f"http://{registry_address}/v2/{BASE_REPO}/manifests/{info.digest}",
        headers={"Accept": info.media_type},
        timeout=10,
    ).json()
    expected_size = manifest["config"]["size"] + sum(x["size"] for x in manifest["layers"])
    assert info.size == expected_size
    assert info.size > 10_000_000  # a Debian rootfs, compressed
    assert info.config_digest == manifest["config"]["digest"]
    assert info.layers == tuple(x["digest"] for x in manifest["layers"])
    assert info.created is not None
    assert datetime.fromisoformat(info.created[:19]).year >= 2024
    assert info.labels == {}


def test_manifest_info_labels_created_and_absent(
    client: RegistryClient, namespace: str, push_to: Callable[..., tuple[str, int]],
    registry_address: str,
):  # fmt: skip
    repo = f"{namespace}/labelled"
    labels = {"org.mlenv.hash": "abc123", "maintainer": "team-a"}
    digest, size = push_to(
        registry_address, repo, "v1", labels=labels, created="2024-05-01T12:00:00Z"
    )
    info = client.manifest_info(repo, "v1")
    assert info is not None
    assert (info.digest, info.size, info.created, info.labels) == (
        digest, size, "2024-05-01T12:00:00Z", labels,
    )  # fmt: skip
    assert client.manifest_info(repo, "absent") is None
    assert client.manifest_info(f"{namespace}/absent", "v1") is None


def test_manifest_info_of_an_index_describes_the_amd64_entry(
    client: RegistryClient, namespace: str, push_to: Callable[..., tuple[str, int]],
    registry_address: str,
):  # fmt: skip
    repo = f"{namespace}/multi"
    arm, arm_size = push_to(registry_address, repo, "arm", content=b"arm" * 100)
    amd, amd_size = push_to(registry_address, repo, "amd", content=b"amd", labels={"p": "amd64"})
    media = "application/vnd.docker.distribution.manifest.v2+json"
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": media, "digest": arm, "size": 1,
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": media, "digest": amd, "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }).encode()  # fmt: skip
    put = requests.put(
        f"http://{registry_address}/v2/{repo}/manifests/both",
        data=index,
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    info = client.manifest_info(repo, "both")
    assert info is not None
    assert info.media_type == "application/vnd.oci.image.index.v1+json"
    assert info.digest == put.headers["Docker-Content-Digest"] == client.digest_of(repo, "both")
    assert (info.size, info.labels) == (amd_size, {"p": "amd64"})
    assert arm_size != amd_size


def test_tag_moves_and_the_old_digest_stays_pullable(
    client: RegistryClient, namespace: str, push_image: PushImage, registry_address: str
):
    repo = f"{namespace}/env"
    old = push_image(repo, "hash1", content=b"first build")
    new = push_image(repo, "scratch", content=b"second build")
    assert old != new
    client.tag(repo, new, "hash1")
    assert client.digest_of(repo, "hash1") == new
    assert client.digest_of(repo, old) == old
    engine = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST"))
    name = f"{registry_address}/{repo}"
    try:
        image = engine.images.pull(f"{name}@{old}")
        assert f"{name}@{old}" in image.attrs["RepoDigests"]
    finally:
        engine.images.remove(f"{name}@{old}", force=True)
        engine.close()


def test_tag_of_an_unknown_digest_fails_and_changes_nothing(
    client: RegistryClient, namespace: str, push_image: PushImage
):
    repo = f"{namespace}/env"
    kept = push_image(repo, "t")
    with pytest.raises(RegistryError, match="no manifest sha256:0000"):
        client.tag(repo, "sha256:" + "0" * 64, "t")
    assert client.digest_of(repo, "t") == kept


NAMESPACES = [
    ("127.0.0.1:5000", "127.0.0.1:5000", "", "mlenv/env"),
    ("127.0.0.1:5000/team-a", "127.0.0.1:5000", "team-a", "team-a/mlenv/env"),
    ("127.0.0.1:5000/org/team/", "127.0.0.1:5000", "org/team", "org/team/mlenv/env"),
    ("http://reg.example.com/x", "reg.example.com", "x", "x/mlenv/env"),
]


@pytest.mark.parametrize(("address", "host", "namespace", "repository"), NAMESPACES)
def test_address_namespace(address: str, host: str, namespace: str, repository: str):
    client = RegistryClient(address)
    assert (client.host, client.namespace, client.repository_for("mlenv/env")) == (
        host,
        namespace,
        repository,
    )


SCHEMES = [
    ("127.0.0.1:5000", "", "http://127.0.0.1:5000"),
    ("localhost:5000", "", "http://localhost:5000"),
    ("[::1]:5000", "", "http://[::1]:5000"),
    ("127.0.0.2", "", "http://127.0.0.2"),
    ("registry.example.com", "", "https://registry.example.com"),
    ("registry.example.com:8443", "registry.example.com", "http://registry.example.com:8443"),
    ("registry.example.com:8443", "other.example.com, registry.example.com:8443",
     "http://registry.example.com:8443"),
    ("docker.io", "", "https://registry-1.docker.io"),
    ("https://127.0.0.1:5000", "", "https://127.0.0.1:5000"),
]  # fmt: skip


@pytest.mark.parametrize(("address", "insecure", "base_url"), SCHEMES)
def test_scheme_choice(address: str, insecure: str, base_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLENV_INSECURE_REGISTRIES", insecure)
    assert RegistryClient(address).base_url == base_url
    assert is_insecure_host("203.0.113.7", {}) is False


def test_every_request_is_counted(client: RegistryClient, namespace: str, push_image: PushImage):
    repo = f"{namespace}/env"
    digest = push_image(repo, "t")
    reset_request_count()
    assert client.digest_of(repo, "t") == digest
    assert request_count() == 1  # one HEAD
    client.manifest_info(repo, "t")
    assert request_count() == 3  # + manifest GET + config blob GET
    reset_request_count()
    assert request_count() == 0


# -- auth --------------------------------------------------------------------


def test_basic_auth_is_refused_without_credentials(
    auth_registry: AuthRegistry, namespace: str, push_to: Callable[..., tuple[str, int]],
    caplog: pytest.LogCaptureFixture,
):  # fmt: skip
    caplog.set_level(logging.DEBUG)
    repo = f"{namespace}/private"
    creds = (auth_registry.user, auth_registry.password)
    digest, _ = push_to(auth_registry.address, repo, "v1", auth=creds)

    anonymous = RegistryClient(auth_registry.address)
    with pytest.raises(RegistryError, match="requires credentials"):
        anonymous.digest_of(repo, "v1")
    anonymous.ping()  # reachable, even if it wants credentials

    wrong = RegistryClient(auth_registry.address, username=auth_registry.user, password="nope")
    with pytest.raises(RegistryError, match="refused the credentials") as refused:
        wrong.digest_of(repo, "v1")
    with pytest.raises(RegistryError, match="refused the credentials"):
        wrong.ping()

    right = RegistryClient(
        auth_registry.address, username=auth_registry.user, password=auth_registry.password
    )
    right.ping()
    assert right.digest_of(repo, "v1") == digest
    info = right.manifest_info(repo, "v1")
    assert info is not None and info.digest == digest
    right.tag(repo, digest, "v2")
    assert right.digest_of(repo, "v2") == digest

    for text in (str(refused.value), repr(right), repr(right._t), caplog.text):
        assert auth_registry.password not in text
    assert "nope" not in str(refused.value)
