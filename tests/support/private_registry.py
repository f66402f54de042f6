"""A registry of a test's own, on a free port: to stop and start under a
build or a pull (the shared one on 127.0.0.1:5000 is never stopped)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

__all__ = ["free_port", "private_registry", "registry_tags"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_registry(root: Path, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A registry serving ``127.0.0.1:port``, its storage in ``root`` (kept
    across restarts); yields its address and process; stopped at the end."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: apt-get install docker-registry"
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: { level: warn }\n"
        f"storage: {{ filesystem: {{ rootdirectory: {root / 'registry-data'} }} }}\n"
        f"http: {{ addr: '127.0.0.1:{port}' }}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"http://{address}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield address, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


def registry_tags(address: str, prefix: str = "") -> list[str]:
    """Every ``repository:tag`` the registry at ``address`` holds (of the
    repositories starting with ``prefix``)."""
    repos: list[str] = []
    while True:  # a page at a time: the shared registry holds hundreds
        last = f"&last={repos[-1]}" if repos else ""
        url = f"http://{address}/v2/_catalog?n=1000{last}"
        page = requests.get(url, timeout=5).json().get("repositories") or []
        repos += page
        if len(page) < 1000:
            break
    tags: list[str] = []
    for repo in repos:
        if not repo.startswith(prefix):
            continue
        listed = requests.get(f"http://{address}/v2/{repo}/tags/list", timeout=5).json()
        tags += [f"{repo}:{t}" for t in listed.get("tags") or []]
    return tags
