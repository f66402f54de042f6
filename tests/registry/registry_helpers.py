"""Helpers shared by the registry tests: push real images through the
distribution API (no Docker needed), find a closed loopback port."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import tarfile
from collections.abc import Callable
from dataclasses import dataclass

import requests

PushImage = Callable[..., str]


@dataclass(frozen=True)
class AuthRegistry:
    address: str
    user: str
    password: str


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(content: bytes) -> tuple[bytes, str]:
    """A gzip layer holding /hello.txt, and the digest of its uncompressed tar."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    plain = raw.getvalue()
    return gzip.compress(plain, mtime=0), _digest(plain)


def push_blob(base: str, repository: str, data: bytes, auth: tuple[str, str] | None = None) -> str:
    digest = _digest(data)
    start = requests.post(f"{base}/v2/{repository}/blobs/uploads/", auth=auth, timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{sep}digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        auth=auth,
        timeout=10,
    )
    assert done.status_code == 201, done.text
    return digest


def push_test_image(
    address: str,
    repository: str,
    tag: str,
    *,
    content: bytes = b"hello\n",
    labels: dict[str, str] | None = None,
    created: str = "2024-05-01T12:00:00Z",
    auth: tuple[str, str] | None = None,
) -> tuple[str, int]:
    """Push a real, pullable one-layer image; return (manifest digest, size)."""
    base = f"http://{address}"
    layer, diff_id = _layer(content)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": {"Labels": labels or {}, "Cmd": ["/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "mlenv tests"}],
        },
        sort_keys=True,
    ).encode()
    config_digest = push_blob(base, repository, config, auth)
    layer_digest = push_blob(base, repository, layer, auth)
    media = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": layer_digest,
                }
            ],
        }
    ).encode()
    answer = requests.put(
        f"{base}/v2/{repository}/manifests/{tag}",
        data=manifest,
        headers={"Content-Type": media},
        auth=auth,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return _digest(manifest), len(config) + len(layer)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
