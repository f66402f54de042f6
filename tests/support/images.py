"""Test images built with BuildKit and pushed to the local registry."""

from __future__ import annotations

import subprocess
from pathlib import Path


def build_and_push(folder: Path, ref: str, buildkit_host: str) -> None:
    """Build the Dockerfile in ``folder`` (its context) and push it as ``ref``."""
    subprocess.run(
        [
            "buildctl",
            "--addr",
            buildkit_host,
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={folder}",
            "--local",
            f"dockerfile={folder}",
            "--output",
            f"type=image,name={ref},push=true,registry.insecure=true",
        ],
        check=True,
        capture_output=True,
    )
