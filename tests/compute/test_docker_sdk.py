"""The Docker SDK is imported without paramiko for a local engine, and an
``ssh://`` engine still gets the SDK's ssh transport, also later in the same
process. Each case runs in a fresh interpreter: imports are process-wide."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _python(code: str, docker_host: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_local_engine_does_not_pay_for_paramiko():
    out = _python(
        "import sys\n"
        "from pulumi_mlenv.compute.docker_engine import DockerEngine\n"
        "from pulumi_mlenv.errors import EngineError\n"
        "try:\n"
        "    DockerEngine('unix:///nonexistent.sock').check()\n"
        "except EngineError:\n"
        "    print('paramiko' in sys.modules)\n"
    )
    assert out == "False"


@pytest.mark.parametrize(
    "first",
    ["", "sdk('unix:///nonexistent.sock')\n"],
    ids=["first", "after-a-local-engine"],
)
def test_an_ssh_engine_gets_the_ssh_transport(first: str):
    # use_ssh_client and a set API version: the SDK makes the adapter
    # without connecting.
    out = _python(
        "from pulumi_mlenv.compute.docker_sdk import sdk\n"
        f"{first}"
        "url = 'ssh://someone@host.invalid'\n"
        "client = sdk(url).DockerClient(base_url=url, version='1.44', use_ssh_client=True)\n"
        "print(type(client.api._custom_adapter).__name__)\n"
    )
    assert out == "SSHHTTPAdapter"


def test_docker_host_over_ssh_keeps_paramiko_for_the_sdks_own_lookup():
    out = _python(
        "import sys\n"
        "from pulumi_mlenv.compute.docker_sdk import sdk\n"
        "sdk(None)\n"
        "print('paramiko' in sys.modules)\n",
        docker_host="ssh://someone@host.invalid",
    )
    assert out == "True"
