"""Fixtures for the registry tests: the real local registry, images pushed
through the distribution API, a second registry with htpasswd auth."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from registry_helpers import AuthRegistry, PushImage, free_port, push_test_image

from pulumi_mlenv.registry import clear_resolve_cache
from support.auth_registry import auth_registry as run_auth_registry


@pytest.fixture(scope="session")
def registry_address() -> str:
    """The workspace registry the project's scripts started (plain HTTP, loopback)."""
    return os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")


@pytest.fixture
def namespace() -> str:
    """A repository namespace unique to this test, so tests never collide."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _fresh_resolve_cache() -> Iterator[None]:
    clear_resolve_cache()
    yield
    clear_resolve_cache()


@pytest.fixture
def push_to() -> Callable[..., tuple[str, int]]:
    """``push_to(address, repository, tag, **kw) -> (digest, size)`` on any registry."""
    return push_test_image


@pytest.fixture
def push_image(registry_address: str) -> PushImage:
    """``push_image(repository, tag, **kw) -> digest`` on the local registry."""

    def push(repository: str, tag: str, **kw: object) -> str:
        return push_test_image(registry_address, repository, tag, **kw)[0]  # type: ignore[arg-type]

    return push


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthRegistry]:
    """A second docker-registry on a loopback port that demands htpasswd (Basic) auth."""
    with run_auth_registry(tmp_path_factory.mktemp("auth-registry"), free_port()) as login:
        yield AuthRegistry(login.address, login.username, login.password)
