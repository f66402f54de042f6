"""One Docker engine by URL (``unix://``, ``tcp://``, ``ssh://``): the SDK
client made per call (nothing live is kept, so the object pickles and can
sit in a Pulumi provider), the ping, an image pulled with its progress, and
the engine's errors in one short line."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.compute.job import Sink
from pulumi_mlenv.compute.pull_progress import PullProgress
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = ["CHECK_TIMEOUT", "SCHEMES", "DockerEngine", "ensure_image", "pull_failure", "reason"]

SCHEMES = ("unix://", "tcp://", "ssh://")
CHECK_TIMEOUT = 5


_PATTERNS = (
    re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)"),
    re.compile(r"Error\(\d+, '([^']+)'\)"),
    re.compile(r"RemoteDisconnected\('([^']+)'\)"),
    re.compile(r"(Read timed out|timed out)"),
)


_DIAL = re.compile(r"dial tcp (\S+?): (?:connect: )?([a-z][a-z ]*[a-z])")


def pull_failure(image: str, said: str, received: str = "") -> str:
    """One line for a failed pull: the registry by address when it did not
    answer (what the engine says then is long and names itself first), and
    how far the pull got when it stopped answering in the middle."""
    host = image.split("/", 1)[0]
    dial = _DIAL.search(said)
    if dial is not None and received:
        return (
            f"registry {host} stopped answering while the engine pulled {image} "
            f"(after {received}; {dial.group(2)}): start it and run again; the run did not start"
        )
    if dial is not None:
        return (
            f"registry {host} did not answer while the engine pulled {image} "
            f"({dial.group(2)}): start it or check its address; the run did not start"
        )
    return f"pulling {image}: {' '.join(said.split())[:300]}"


def reason(exc: BaseException) -> str:
    """What the SDK's exception says, in a few words (its nested text trimmed)."""
    text = " ".join(str(exc).split())
    for pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).lower()
    return text[:200] or type(exc).__name__


@dataclass(frozen=True, slots=True)
class DockerEngine:
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
        from pulumi_mlenv.compute.docker_sdk import sdk  # the SDK is slow to import

        docker = sdk(self.url)
        try:
            return docker.DockerClient(
                base_url=self.url, timeout=timeout, use_ssh_client=self.url.startswith("ssh://")
            )
        except Exception as exc:  # the SDK raises several unrelated types here
            raise self.unreachable(exc) from None

    def check(self) -> None:
        """Ping the engine (short timeout); ``EngineError`` naming the URL if it does not answer."""
        client = self._client(CHECK_TIMEOUT)
        try:
            client.ping()
        except Exception as exc:  # any failure to answer a ping means unreachable
            raise self.unreachable(exc) from None
        finally:
            client.close()

    def unreachable(self, exc: BaseException) -> EngineError:
        """The error for an engine that did not answer."""
        return EngineError(f"docker engine {self.url} unreachable: {reason(exc)}")


def ensure_image(client: Any, image: str, login: tuple[str, str] | None, on_progress: Sink) -> None:
    """Pull ``image`` (by digest) unless the engine has it, reporting progress."""
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    repository, _, digest = image.partition("@")
    auth = {"username": login[0], "password": login[1]} if login else None
    on_progress(f"pulling {image}")
    pull = PullProgress()
    last = 0.0
    try:
        events = client.api.pull(
            repository, tag=digest or None, stream=True, decode=True, auth_config=auth
        )
    except DockerException as exc:
        raise EngineError(pull_failure(image, str(exc))) from None
    said = ""
    for event in events:
        if "error" in event:
            raise EngineError(pull_failure(image, str(event["error"]), pull.received()))
        pull.add(event)
        now = time.monotonic()
        line = pull.line()
        if pull.layers and now - last > 0.5 and line != said:  # a new line only when it says more
            on_progress(f"pulling {image}: {line}")
            last, said = now, line
    on_progress(f"pulled {image}")
