"""Secrets never reach an image: the CA bundle and a private index token are
build secrets, absent from every layer, the config and ``docker history``."""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.vault import vault_base
from pulumi_mlenv.service import ensure_image
from pulumi_mlenv.service.resolved import resolve

pytestmark = pytest.mark.docker

TOKEN = f"tok{uuid.uuid4().hex}"


class _Empty(http.server.BaseHTTPRequestHandler):
    """A private index that has nothing: every package falls back to PyPI."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def empty_index() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Empty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _ca_fragment(bundle: str) -> str:
    """A line from the middle of the first certificate of the bundle."""
    lines = Path(bundle).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "BEGIN CERTIFICATE" in line)
    return lines[start + 5]


def test_ca_bundle_and_index_token_are_absent(
    tmp_path: Path, empty_index: int, machine: dict[str, str]
) -> None:
    settings = replace(
        Settings.from_env(),
        registry=f"127.0.0.1:5000/t-{uuid.uuid4().hex[:10]}",
        cache_dir=tmp_path / "cache",
    )
    assert settings.ca_bundle is not None
    spec = parse_definition(
        {
            "name": "secret",
            "python": {
                "conda": {
                    "dependencies": [
                        "python=3.11",
                        {
                            "pip": [
                                f"--extra-index-url http://mlenv:{TOKEN}@127.0.0.1:{empty_index}/simple",
                                "six==1.16.0",
                            ]
                        },
                    ]
                }
            },
        }
    )
    result = ensure_image(resolve(spec, settings), settings=settings)
    assert result.built and result.lock == ("six==1.16.0",)
    docker = ["/usr/bin/docker"]
    subprocess.run([*docker, "pull", "-q", result.image], check=True, capture_output=True)
    history = subprocess.run(
        [*docker, "history", "--no-trunc", result.image], check=True, capture_output=True, text=True
    ).stdout
    archive = tmp_path / "image.tar"
    subprocess.run([*docker, "save", "-o", str(archive), result.image], check=True)
    fragment = _ca_fragment(settings.ca_bundle)
    bundle = Path(settings.ca_bundle).read_bytes()
    assert TOKEN not in history and fragment not in history
    assert "ca-certificates.crt" not in history
    base_layers = _layer_count(settings.base_image)
    with tarfile.open(archive) as outer:
        manifest = json.loads(_read(outer, "manifest.json"))
        layers = manifest[0]["Layers"]
        assert len(layers) > base_layers
        for member in outer.getmembers():
            if member.isfile():  # configs, manifests and layers as raw bytes
                assert TOKEN.encode() not in _read(outer, member.name), member.name
        for index, name in enumerate(layers):
            # Layers of the base carry its public trust store; ours must not.
            own = index >= base_layers
            _assert_layer_clean(_read(outer, name), fragment if own else None, bundle, name)
    assert TOKEN not in "\n".join(result.lock)
    assert TOKEN not in (result.dockerfile or "")
    # Nothing that held the token outlives the build, on disk or in memory.
    leftovers = [*settings.cache_dir.rglob("*"), *vault_base().glob(f"*-{os.getpid()}-*/**/*")]
    for path in leftovers:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    data = archive.extractfile(name)
    assert data is not None, name
    return data.read()


def _layer_count(image: str) -> int:
    subprocess.run(["/usr/bin/docker", "pull", "-q", image], check=True, capture_output=True)
    out = subprocess.run(
        ["/usr/bin/docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return len(json.loads(out))


def _assert_layer_clean(blob: bytes, fragment: str | None, bundle: bytes, name: str) -> None:
    """Search every file of a layer (docker save gives them as plain tars)."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as layer:
        for member in layer.getmembers():
            if not member.isfile():
                continue
            data = layer.extractfile(member)
            if data is None:
                continue
            content = data.read()
            path = member.name.removeprefix("./")
            assert TOKEN.encode() not in content, f"{name}:{path}"
            assert content != bundle, f"the CA bundle is in {name}:{path}"
            if fragment is not None:
                assert fragment.encode() not in content, f"CA bundle in {name}:{path}"
