"""A Docker engine as a compute target, by URL (``unix://``, ``tcp://``, ``ssh://``).

One SDK client per call (nothing live is kept, so the object pickles and
can sit in a Pulumi provider). Containers use the host's network: the engine
here runs without a bridge, and users' engines may too.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.errors import EngineError, SpecError

__all__ = ["CHECK_TIMEOUT", "SCHEMES", "DockerTarget"]

SCHEMES = ("unix://", "tcp://", "ssh://")
CHECK_TIMEOUT = 5
RUN_LABEL = "org.pulumi-mlenv.run"

_PATTERNS = (
    re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)"),
    re.compile(r"Error\(\d+, '([^']+)'\)"),
    re.compile(r"RemoteDisconnected\('([^']+)'\)"),
    re.compile(r"(Read timed out|timed out)"),
)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    for pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).lower()
    return text[:200] or type(exc).__name__


@dataclass(frozen=True, slots=True)
class DockerTarget:
    """A Docker engine at ``url``. ``ssh://user@host`` uses the ``ssh`` client
    (and its config) to reach the remote engine's socket."""

    url: str

    def __post_init__(self) -> None:
        if not self.url.startswith(SCHEMES) or len(self.url) <= len("tcp://"):
            raise SpecError.at(
                "url",
                f"unsupported Docker engine URL {self.url!r}",
                "use unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host",
            )

    @property
    def kind(self) -> str:
        return "docker"

    def _client(self, timeout: int | None) -> Any:
        import docker  # deferred: the SDK is slow to import and most callers never run

        try:
            return docker.DockerClient(
                base_url=self.url, timeout=timeout, use_ssh_client=self.url.startswith("ssh://")
            )
        except Exception as exc:  # the SDK raises several unrelated types here
            raise EngineError(f"docker engine {self.url} unreachable: {_reason(exc)}") from None

    def check(self) -> None:
        """Ping the engine (short timeout); ``EngineError`` naming the URL if it does not answer."""
        client = self._client(CHECK_TIMEOUT)
        try:
            client.ping()
        except Exception as exc:  # any failure to answer a ping means unreachable
            raise EngineError(f"docker engine {self.url} unreachable: {_reason(exc)}") from None
        finally:
            client.close()

    def run(self, image: str, command: list[str], env: Mapping[str, str]) -> tuple[int, str]:
        """Run ``command`` in a fresh container of ``image`` (pulled if missing)
        on the host network; return its exit code and combined output. The
        container is removed afterwards, whatever happened."""
        from docker.errors import DockerException

        self.check()
        client = self._client(None)  # no timeout: a run takes as long as it takes
        container = None
        try:
            container = client.containers.run(
                image,
                command,
                environment=dict(env),
                network_mode="host",
                labels={RUN_LABEL: "1"},
                detach=True,
            )
            status = container.wait()
            logs = container.logs(stdout=True, stderr=True)
            return int(status.get("StatusCode", -1)), bytes(logs).decode("utf-8", "replace")
        except DockerException as exc:
            raise EngineError(f"running {image} on {self.url}: {_reason(exc)}") from None
        finally:
            if container is not None:
                with contextlib.suppress(DockerException):  # already gone: nothing to clean
                    container.remove(force=True)
            client.close()
