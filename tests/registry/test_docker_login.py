"""Logins stored by `docker login` (Docker's config.json, with a credential
helper or plain `auths`) reach existence checks and base-tag resolution,
against a real registry that demands a login."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_helpers import free_port

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.service.compose import real_outside
from support.auth_registry import Login, auth_registry

pytestmark = pytest.mark.docker


@pytest.fixture
def private(tmp_path: Path, machine: dict[str, str]) -> Iterator[Login]:
    (tmp_path / "registry").mkdir()
    with auth_registry(tmp_path / "registry", free_port()) as login:
        yield login


def _settings(address: str) -> Settings:
    return Settings(registry=address, ca_bundle=None)


def test_without_a_login_the_private_registry_refuses(
    private: Login, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    client = real_outside().registry(private.address, _settings(private.address))
    with client, pytest.raises(RegistryError):
        client.digest_of("mlenv/env", "0" * 64)


def test_a_docker_login_in_config_json_is_used(
    private: Login, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    auth = base64.b64encode(f"{private.username}:{private.password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {private.address: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    with real_outside().registry(private.address, _settings(private.address)) as client:
        client.ping()
        assert client.digest_of("mlenv/env", "0" * 64) is None  # asked, with the login


def test_a_credential_helper_is_asked(
    private: Login, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A credential helper as `docker login` uses them: `docker-credential-<name> get`.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-mlenvtest"
    answer = json.dumps({"Username": private.username, "Secret": private.password})
    helper.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"credHelpers": {private.address: "mlenvtest"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with real_outside().registry(private.address, _settings(private.address)) as client:
        client.ping()
    # Base-tag resolution asks with it too: an absent tag is "not there", not a refusal.
    with pytest.raises(RegistryError, match="no mlenv/base:1"):
        real_outside().resolve_base(f"{private.address}/mlenv/base:1", _settings(private.address))
