"""What `make setup` promises: a base image in the local registry that BuildKit
can build on, with a cache mount, the CA bundle as a secret, and a push whose
digest the registry then serves."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _registry_digest(registry: str, repository: str, tag: str) -> str:
    resp = requests.head(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.headers["Docker-Content-Digest"]


def test_base_image_is_served_by_the_local_registry(machine: dict[str, str]) -> None:
    base = os.environ["MLENV_BASE_IMAGE"]
    host, rest = base.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    assert _registry_digest(host, repository, tag).startswith("sha256:")


def test_buildkit_builds_on_the_base_with_a_cache_mount_and_pushes(
    machine: dict[str, str], tmp_path: Path
) -> None:
    registry = os.environ["MLENV_REGISTRY"]
    repository = f"test-setup-{uuid.uuid4().hex[:8]}/smoke"
    ref = f"{registry}/{repository}:v1"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {os.environ['MLENV_BASE_IMAGE']}\n"
        "RUN --mount=type=cache,target=/root/.cache/pip "
        "--mount=type=secret,id=ca "
        "PIP_CERT=/run/secrets/ca python3 -m pip download --no-deps -d /tmp/dl six==1.16.0 "
        "&& ls /root/.cache/pip > /cache-used.txt && rm -rf /tmp/dl\n"
        "RUN python3 -c 'import sys; print(sys.version)' > /python-version.txt\n"
    )
    metadata = tmp_path / "metadata.json"
    subprocess.run(
        [
            "buildctl",
            "--addr",
            os.environ["BUILDKIT_HOST"],
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={tmp_path}",
            "--local",
            f"dockerfile={tmp_path}",
            "--secret",
            "id=ca,src=/etc/ssl/certs/ca-certificates.crt",
            "--output",
            f"type=image,name={ref},push=true,registry.insecure=true",
            "--metadata-file",
            str(metadata),
        ],
        check=True,
        capture_output=True,
    )
    pushed = json.loads(metadata.read_text())["containerimage.digest"]
    assert _registry_digest(registry, repository, "v1") == pushed
