"""resolve_base_image (R17): digest refs, registry tags, local-only images, failures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from registry_helpers import PushImage, free_port

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry import (
    InvalidImageRef,
    RegistryClient,
    clear_resolve_cache,
    request_count,
    reset_request_count,
    resolve_base_image,
)
from support.auth_registry import plain_registry

pytestmark = pytest.mark.docker


def test_a_digest_ref_is_its_own_answer_without_any_request():
    digest = "sha256:" + "1" * 64
    reset_request_count()
    port = free_port()  # nothing listens: a request would fail
    assert resolve_base_image(f"127.0.0.1:{port}/x/y:tag@{digest}") == digest
    assert resolve_base_image(f"python@{digest}") == digest
    assert request_count() == 0


def test_a_tag_resolves_to_the_registry_digest_and_follows_a_moved_tag(
    registry_address: str, namespace: str, push_image: PushImage
):
    repo = f"{namespace}/base"
    first = push_image(repo, "3.11", content=b"one")
    ref = f"{registry_address}/{repo}:3.11"
    assert resolve_base_image(ref) == first

    second = push_image(repo, "next", content=b"two")
    RegistryClient(registry_address).tag(repo, second, "3.11")
    clear_resolve_cache()
    assert resolve_base_image(ref) == second


def test_answers_are_cached_for_a_few_seconds(
    registry_address: str, namespace: str, push_image: PushImage
):
    repo = f"{namespace}/base"
    digest = push_image(repo, "t")
    reset_request_count()
    for _ in range(5):
        assert resolve_base_image(f"{registry_address}/{repo}:t") == digest
    assert request_count() == 1


def test_the_base_image_of_the_project_resolves(registry_address: str):
    ref = os.environ.get("MLENV_BASE_IMAGE", f"{registry_address}/mlenv/python:3.11-bookworm")
    digest = resolve_base_image(ref)
    assert digest.startswith("sha256:")
    assert digest == RegistryClient(registry_address).digest_of(
        "mlenv/python", ref.rsplit(":", 1)[1]
    )


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST"))
    yield client
    client.close()


@pytest.mark.parametrize("reachable", [True, False], ids=["registry-lacks-it", "unreachable"])
def test_a_local_only_image_resolves_to_its_image_id(
    engine: docker.DockerClient, registry_address: str, reachable: bool
):
    base = engine.images.get(
        os.environ.get("MLENV_BASE_IMAGE", "127.0.0.1:5000/mlenv/python:3.11-bookworm")
    )
    host = registry_address if reachable else f"127.0.0.1:{free_port()}"
    name = f"{host}/local-only-{uuid.uuid4().hex[:8]}/img"
    assert base.tag(name, "dev")
    try:
        digest = resolve_base_image(f"{name}:dev", docker_host=os.environ.get("DOCKER_HOST"))
        assert digest == base.id
    finally:
        engine.images.remove(f"{name}:dev")


def test_nowhere_to_be_found_says_what_was_tried(registry_address: str, namespace: str):
    ref = f"{registry_address}/{namespace}/ghost:1"
    with pytest.raises(RegistryError) as info:
        resolve_base_image(ref, docker_host=os.environ.get("DOCKER_HOST"))
    text = str(info.value)
    assert f"cannot resolve base image {ref}" in text
    assert f"registry {registry_address}: no {namespace}/ghost:1" in text
    assert f"no image {ref}" in text


def test_unreachable_registry_and_engine(namespace: str):
    port = free_port()
    ref = f"127.0.0.1:{port}/{namespace}/ghost:1"
    with pytest.raises(RegistryError) as info:
        resolve_base_image(ref, docker_host=f"tcp://127.0.0.1:{free_port()}")
    text = str(info.value)
    assert f"unreachable (tried http://127.0.0.1:{port}/v2/{namespace}/ghost/manifests/1)" in text
    assert "local engine tcp://127.0.0.1:" in text


def test_a_malformed_ref_is_an_input_error():
    with pytest.raises(InvalidImageRef, match="repository name 'Python'"):
        resolve_base_image("Python:3.11")


def test_an_unreachable_registry_is_never_replaced_by_the_engines_copy(
    engine: docker.DockerClient, tmp_path: Path
):
    # The base image was pushed to a registry (the engine knows its registry
    # digest); the registry then stops answering: the local copy may be
    # stale, so resolution fails instead of moving every environment's hash.
    base = engine.images.get(
        os.environ.get("MLENV_BASE_IMAGE", "127.0.0.1:5000/mlenv/python:3.11-bookworm")
    )
    with plain_registry(tmp_path, free_port()) as address:
        name = f"{address}/pushed/base"
        base.tag(name, "1")
        engine.images.push(name, "1")
        pushed = engine.images.get(f"{name}:1").attrs["RepoDigests"]
        assert resolve_base_image(f"{name}:1", docker_host=os.environ.get("DOCKER_HOST"))
    clear_resolve_cache()
    try:
        with pytest.raises(RegistryError) as info:
            resolve_base_image(f"{name}:1", docker_host=os.environ.get("DOCKER_HOST"))
        text = str(info.value)
        assert "unreachable" in text and "may be stale" in text
        assert any(d.split("@")[1] in text for d in pushed)  # the digest to pin, named
    finally:
        engine.images.remove(f"{name}:1")


def test_the_quick_head_asks_what_the_client_asks_and_leaves_the_rest_to_it(
    registry_address: str, namespace: str, push_image: PushImage, tmp_path: Path
):
    from pulumi_mlenv.registry.plain_head import plain_http_digest
    from support.auth_registry import auth_registry

    repo = f"{namespace}/quick"
    digest = push_image(repo, "1", content=b"quick")
    reset_request_count()
    assert plain_http_digest(registry_address, repo, "1") == digest
    assert request_count() == 1  # counted like the client's requests
    assert plain_http_digest(registry_address, repo, "missing") is None  # the client says 404
    with auth_registry(tmp_path, free_port()) as login:
        authed = RegistryClient(login.address, username=login.username,
                                    password=login.password)  # fmt: skip
        with authed as client:
            assert client.digest_of("nothing/here", "1") is None
        assert plain_http_digest(login.address, "nothing/here", "1") is None  # 401: not an answer
