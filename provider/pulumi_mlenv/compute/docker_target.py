"""A Docker engine as a compute target, by URL (``unix://``, ``tcp://``, ``ssh://``).

One SDK client per call (nothing live is kept, so the object pickles and
can sit in a Pulumi provider). Containers use the host's network: the engine
here runs without a bridge, and users' engines may too.

A job's container: the image by digest (pulled from the registry its
reference names when the engine lacks it), the run's working copy of the
source mounted at ``/mlenv/source`` (the working folder; its
``outputs`` links to ``../outputs``) and the outputs folder beside it at
``/mlenv/outputs``, so ``./outputs`` is the run's outputs as on the host,
the environment's variables set, the caller's user and group (outputs
belong to whoever ran), and the container removed afterwards, whatever
happened. Bind mounts name paths on the engine's host: a remote engine
needs the folders there too.
"""

from __future__ import annotations

import codecs
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.compute.docker_engine import CHECK_TIMEOUT, SCHEMES, ensure_image, pull_failure
from pulumi_mlenv.compute.docker_engine import reason as _reason
from pulumi_mlenv.compute.docker_services import (
    SERVICE_LABEL,
    DockerServices,
    ServiceSpec,
    ServiceState,
)
from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
from pulumi_mlenv.errors import EngineError

__all__ = [
    "CHECK_TIMEOUT",
    "OUTPUTS_MOUNT",
    "RUN_LABEL",
    "SCHEMES",
    "SERVICE_LABEL",
    "SOURCE_MOUNT",
    "DockerTarget",
    "ServiceSpec",
    "ServiceState",
    "container_options",
    "pull_failure",
]

SOURCE_MOUNT = "/mlenv/source"
OUTPUTS_MOUNT = "/mlenv/outputs"

RUN_LABEL = "org.pulumi-mlenv.run"


def _discard(container: Any, client: Any) -> None:
    """The end of every one-container call: remove the container, if one
    was made, and close the client."""
    from docker.errors import DockerException

    if container is not None:
        with contextlib.suppress(DockerException):  # already gone: nothing to clean
            container.remove(force=True)
    client.close()


@dataclass(frozen=True, slots=True)
class DockerTarget(DockerServices):
    """A Docker engine at ``url`` as a compute target: jobs (runs), one-off
    commands, files read out of images, and (from ``DockerServices``) the
    long-running containers of deployments."""

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
            _discard(container, client)

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
            ensure_image(client, image, login, on_progress)
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
            _discard(container, client)

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
                raise self.unreachable(exc) from None
            ensure_image(client, job.image, job.registry_login, on_progress)
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
            _discard(container, client)

    def remove_job(self, name: str) -> int:
        """Remove the containers of job ``name`` left by a process that died
        while running it; returns how many (0 when the engine does not answer)."""
        from docker.errors import DockerException, NotFound

        try:
            client = self._client(10)
        except DockerException:
            return 0
        try:
            # The low-level list (see docker_services.services): no NotFound race.
            left = client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={name}"})
            for container in left:
                with contextlib.suppress(NotFound):  # removed meanwhile: already gone
                    client.api.remove_container(container["Id"], force=True)
            return len(left)
        except DockerException:
            return 0
        finally:
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
            # The run's own copy: the snapshot it came from is never mounted.
            str(job.source): {"bind": SOURCE_MOUNT, "mode": "rw"},
            str(job.outputs): {"bind": OUTPUTS_MOUNT, "mode": "rw"},
        },
        "network_mode": "host",
        "user": f"{uid}:{gid}",
        "labels": {RUN_LABEL: job.name},
    }
