"""Settings and registry peeks shared by the service tests."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.registry import RegistryClient
from pulumi_mlenv.service import ENV_REPOSITORY


def fresh_settings(tmp_path: Path) -> Settings:
    """Settings with a workspace-registry namespace and a cache folder of the test's own."""
    registry = os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")
    return replace(
        Settings.from_env(),
        registry=f"{registry}/t-{uuid.uuid4().hex[:10]}",
        cache_dir=tmp_path / "cache",
    )


def env_tags(settings: Settings) -> list[str]:
    """The tags of the environment repository in the settings' registry."""
    with RegistryClient(settings.registry) as client:
        repo = client.repository_for(ENV_REPOSITORY)
        resp = client._t.request("GET", f"/v2/{repo}/tags/list")  # test-only peek
        return list(resp.json().get("tags") or []) if resp.status_code == 200 else []
