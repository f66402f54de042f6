"""The Docker SDK, imported for the engine a caller is about to talk to.

The SDK's transports import paramiko (its ``ssh://`` transport) whatever the
engine's URL: about 0.17 s of a trivial ``mlenv run submit --compute docker``
that talks to a local socket. For an engine that is not ``ssh://`` the SDK is
imported with paramiko kept out, which the SDK allows (its ssh transport is
optional); an ``ssh://`` engine met later in the same process gets the SDK's
ssh transport then."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["sdk"]


def _wants_ssh(url: str | None) -> bool:
    # No URL: the SDK's ``from_env`` reads DOCKER_HOST.
    return (url or os.environ.get("DOCKER_HOST", "")).startswith("ssh://")


def sdk(url: str | None) -> Any:
    """The ``docker`` module, ready for an engine at ``url`` (None: DOCKER_HOST)."""
    if "docker" not in sys.modules and not _wants_ssh(url) and "paramiko" not in sys.modules:
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # `import paramiko` fails
        try:
            import docker
        finally:
            del sys.modules["paramiko"]
    import docker
    import docker.api.client as api_client

    if _wants_ssh(url) and not hasattr(api_client, "SSHHTTPAdapter"):
        # Imported earlier without paramiko: the SDK's client looks its ssh
        # adapter up in its own module, where its import left it out.
        from docker.transport.sshconn import SSHHTTPAdapter

        api_client.SSHHTTPAdapter = SSHHTTPAdapter
    return docker
