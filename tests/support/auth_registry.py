"""A docker-registry on a loopback port that demands a login (htpasswd,
Basic auth), for tests of registries that need credentials."""

from __future__ import annotations

import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from support.waiting import wait_for


@dataclass(frozen=True)
class Login:
    address: str
    username: str
    password: str


def _bcrypt(password: str) -> str:
    try:
        import bcrypt  # type: ignore[import-not-found]

        return str(bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode())
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # the stdlib module (3.11, 3.12) with libxcrypt's bcrypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def _wait_answering(address: str, proc: subprocess.Popen[bytes], log: Callable[[], str]) -> None:
    """Until the registry answers on ``address``; fails with its log if it exits."""

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the registry on {address} exited: {log()}")
        try:
            requests.get(f"http://{address}/v2/", timeout=1)
        except requests.ConnectionError:
            return False
        return True

    wait_for(answers, f"the registry on {address}", deadline=60)


@contextmanager
def auth_registry(root: Path, port: int) -> Iterator[Login]:
    """Run the registry with storage in ``root`` until the block ends."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: apt-get install docker-registry"
    user, password = "mlenv-user", f"pw-{uuid.uuid4().hex}"
    (root / "htpasswd").write_text(f"{user}:{_bcrypt(password)}\n")
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
        _wait_answering(address, proc, lambda: (root / "registry.log").read_text())
        yield Login(address, user, password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextmanager
def plain_registry(root: Path, port: int) -> Iterator[str]:
    """A registry without login on ``127.0.0.1:port`` until the block ends
    (tests stop it early to see what an unreachable registry does)."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: apt-get install docker-registry"
    config = root / "plain.yml"
    config.write_text(
        "version: 0.1\nlog: { level: warn }\n"
        f"storage: {{ filesystem: {{ rootdirectory: {root / 'plain-data'} }} }}\n"
        f"http: {{ addr: '127.0.0.1:{port}' }}\n"
    )
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        _wait_answering(address, proc, lambda: "(see the test's output)")
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
