"""Fixtures for the registry tests: the real local registry, images pushed
through the distribution API, a second registry with htpasswd auth."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from registry_helpers import AuthRegistry, PushImage, free_port, push_test_image

from pulumi_mlenv.registry import clear_resolve_cache


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


def _bcrypt(password: str) -> str:
    try:
        import bcrypt  # type: ignore[import-not-found]

        return str(bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode())
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # the stdlib module (3.11, 3.12) with libxcrypt's bcrypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthRegistry]:
    """A second docker-registry on a loopback port that demands htpasswd (Basic) auth."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: apt-get install docker-registry"
    root = tmp_path_factory.mktemp("auth-registry")
    user, password = "mlenv-user", f"pw-{uuid.uuid4().hex}"
    (root / "htpasswd").write_text(f"{user}:{_bcrypt(password)}\n")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: { level: warn }\n"
        f"storage: {{ filesystem: {{ rootdirectory: {root / 'data'} }} }}\n"
        f"http: {{ addr: '127.0.0.1:{port}' }}\n"
        f"auth: {{ htpasswd: {{ realm: mlenv-test, path: {root / 'htpasswd'} }} }}\n"
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"http://{address}/v2/", timeout=1).status_code == 401:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError(
                f"auth registry did not start: {Path(root / 'registry.log').read_text()}"
            )
        yield AuthRegistry(address, user, password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
