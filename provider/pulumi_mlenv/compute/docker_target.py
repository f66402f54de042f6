"""A Docker engine as a compute target, by URL (``unix://``, ``tcp://``, ``ssh://``).

One SDK client per call (nothing live is kept, so the object pickles and
can sit in a Pulumi provider). Containers use the host's network: the engine
here runs without a bridge, and users' engines may too.

A job's container: the image by digest (pulled from the registry its
reference names when the engine lacks it, R8/R14), the source snapshot
mounted read-only at ``/mlenv/source`` (the working folder), the outputs
folder read-write at ``/mlenv/outputs``, the environment's variables set,
the caller's user and group (outputs belong to whoever ran), and the
container removed afterwards, whatever happened. Bind mounts name paths on
the engine's host: a remote engine needs the folders there too.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = ["CHECK_TIMEOUT", "OUTPUTS_MOUNT", "SCHEMES", "SOURCE_MOUNT", "DockerTarget"]

SOURCE_MOUNT = "/mlenv/source"
OUTPUTS_MOUNT = "/mlenv/outputs"

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

    def image_file(
        self, image: str, path: str, login: tuple[str, str] | None, on_progress: Sink
    ) -> str | None:
        """The text of ``path`` inside ``image`` (pulled when missing), or
        ``None`` when the image has no such file. Nothing runs: the file is
        read from a created, never started, container."""
        import io
        import tarfile

        from docker.errors import DockerException, NotFound

        self.check()
        client = self._client(None)
        container = None
        try:
            _ensure_image(client, image, login, on_progress)
            container = client.containers.create(image, ["true"], network_mode="host")
            try:
                chunks, _ = container.get_archive(path)
            except NotFound:
                return None
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                member = tar.extractfile(tar.getmembers()[0])
                return member.read().decode("utf-8", "replace") if member else None
        except DockerException as exc:
            reason = _reason(exc)
            raise EngineError(f"reading {path} from {image} on {self.url}: {reason}") from None
        finally:
            if container is not None:
                with contextlib.suppress(DockerException):
                    container.remove(force=True)
            client.close()

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int:
        """Run the job in a fresh container of ``job.image``; see ``ComputeTarget``."""
        from docker.errors import DockerException

        if not job.image:
            raise EngineError(f"running on {self.url}: the job names no image")
        client = self._client(None)  # no timeout: a run takes as long as it takes
        container = None
        try:
            try:
                client.ping()
            except Exception as exc:  # any failure to answer a ping means unreachable
                raise EngineError(f"docker engine {self.url} unreachable: {_reason(exc)}") from None
            _ensure_image(client, job.image, job.registry_login, on_progress)
            container = client.containers.create(
                job.image,
                [job.python, f"{SOURCE_MOUNT}/{job.script}", *job.arguments],
                **container_options(job, os.getuid(), os.getgid()),
            )
            container.start()
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=True):
                text = decoder.decode(chunk)
                if text:
                    on_output(text)
            return int(container.wait().get("StatusCode", -1))
        except DockerException as exc:
            raise EngineError(f"running {job.image} on {self.url}: {_reason(exc)}") from None
        finally:
            if container is not None:
                with contextlib.suppress(DockerException):  # already gone: nothing to clean
                    container.remove(force=True)
            client.close()


def container_options(job: Job, uid: int, gid: int) -> dict[str, Any]:
    """The Docker SDK's ``containers.create`` options for ``job`` (pure)."""
    return {
        "working_dir": SOURCE_MOUNT,
        "environment": {
            **dict(job.variables),
            OUTPUTS_VARIABLE: OUTPUTS_MOUNT,
            "PYTHONUNBUFFERED": "1",
        },
        "volumes": {
            str(job.source): {"bind": SOURCE_MOUNT, "mode": "ro"},
            str(job.outputs): {"bind": OUTPUTS_MOUNT, "mode": "rw"},
        },
        "network_mode": "host",
        "user": f"{uid}:{gid}",
        "labels": {RUN_LABEL: job.name},
    }


def _ensure_image(
    client: Any, image: str, login: tuple[str, str] | None, on_progress: Sink
) -> None:
    """Pull ``image`` (by digest) unless the engine has it, reporting progress."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    repository, _, digest = image.partition("@")
    auth = {"username": login[0], "password": login[1]} if login else None
    on_progress(f"pulling {image}")
    layers: dict[str, tuple[int, int]] = {}
    last = 0.0
    for event in client.api.pull(
        repository, tag=digest or None, stream=True, decode=True, auth_config=auth
    ):
        if "error" in event:
            raise EngineError(f"pulling {image}: {event['error']}")
        detail = event.get("progressDetail") or {}
        if event.get("id") and detail.get("total"):
            layers[event["id"]] = (int(detail.get("current", 0)), int(detail["total"]))
        now = time.monotonic()
        if layers and now - last > 0.5:
            done = sum(c for c, _ in layers.values()) / 1e6
            total = sum(t for _, t in layers.values()) / 1e6
            on_progress(f"pulling {image}: {len(layers)} layers, {done:.1f}/{total:.1f} MB")
            last = now
    on_progress(f"pulled {image}")
