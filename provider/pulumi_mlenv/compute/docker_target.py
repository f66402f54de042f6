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
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
from pulumi_mlenv.compute.pull_progress import PullProgress
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = [
    "CHECK_TIMEOUT",
    "OUTPUTS_MOUNT",
    "SCHEMES",
    "SERVICE_LABEL",
    "SOURCE_MOUNT",
    "DockerTarget",
    "ServiceSpec",
    "ServiceState",
]

SOURCE_MOUNT = "/mlenv/source"
OUTPUTS_MOUNT = "/mlenv/outputs"

SCHEMES = ("unix://", "tcp://", "ssh://")
CHECK_TIMEOUT = 5
RUN_LABEL = "org.pulumi-mlenv.run"
#: Label on long-running service containers (deployments); value: the instance.
SERVICE_LABEL = "org.pulumi-mlenv.deployment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """A long-running container: ``name`` (unique on the engine), ``image``
    (by digest), ``command``, ``env``, read-only bind ``mounts`` (host path ->
    container path), ``workdir`` and ``labels``. Host network, always."""

    name: str
    image: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    mounts: Mapping[str, str]
    workdir: str | None = None
    labels: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ServiceState:
    """``status`` as the engine says it (``running``, ``exited``...),
    ``exit_code`` once it stopped."""

    status: str
    exit_code: int | None

    @property
    def running(self) -> bool:
        return self.status == "running"


_PATTERNS = (
    re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)"),
    re.compile(r"Error\(\d+, '([^']+)'\)"),
    re.compile(r"RemoteDisconnected\('([^']+)'\)"),
    re.compile(r"(Read timed out|timed out)"),
)


_DIAL = re.compile(r"dial tcp (\S+?): (?:connect: )?([a-z][a-z ]*[a-z])")


def pull_failure(image: str, said: str) -> str:
    """One line for a failed pull: the registry by address when it did not
    answer (what the engine says then is long and names itself first)."""
    host = image.split("/", 1)[0]
    dial = _DIAL.search(said)
    if dial is not None:
        return (
            f"registry {host} did not answer while the engine pulled {image} "
            f"({dial.group(2)}): start it or check its address; the run did not start"
        )
    return f"pulling {image}: {' '.join(said.split())[:300]}"


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

    # Long-running services (deployments) ---------------------------------

    def start_service(self, spec: ServiceSpec) -> str:
        """Start ``spec`` detached (pulling its image if missing); return the
        container id. A container left by an earlier attempt under the same
        name is removed first."""
        from docker.errors import DockerException, NotFound

        self.check()
        client = self._client(None)  # a pull takes as long as it takes
        try:
            with contextlib.suppress(NotFound):
                client.containers.get(spec.name).remove(force=True)
            container = client.containers.run(
                spec.image,
                list(spec.command),
                name=spec.name,
                environment=dict(spec.env),
                volumes={
                    host: {"bind": inside, "mode": "ro"} for host, inside in spec.mounts.items()
                },
                working_dir=spec.workdir,
                network_mode="host",
                labels={SERVICE_LABEL: spec.name, **(spec.labels or {})},
                detach=True,
            )
            return str(container.id)
        except DockerException as exc:
            raise EngineError(
                f"starting {spec.name} ({spec.image}) on {self.url}: {_reason(exc)}"
            ) from None
        finally:
            client.close()

    def services(self, labels: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
        """``(id, labels)`` of every container (running or not) carrying
        ``labels``. Raises ``EngineError`` when the engine does not answer."""
        from docker.errors import DockerException

        client = self._client(CHECK_TIMEOUT)
        try:
            wanted = [f"{k}={v}" for k, v in labels.items()]
            found = client.containers.list(all=True, filters={"label": wanted})
            return [(str(c.id), dict(c.labels or {})) for c in found]
        except DockerException as exc:
            raise EngineError(f"docker engine {self.url} unreachable: {_reason(exc)}") from None
        finally:
            client.close()

    def service_state(self, container_id: str) -> ServiceState | None:
        """The container's state, or None when it no longer exists. Raises
        ``EngineError`` when the engine does not answer (never a guess)."""
        from docker.errors import DockerException, NotFound

        client = self._client(CHECK_TIMEOUT)
        try:
            container = client.containers.get(container_id)
            state = container.attrs.get("State", {})
            status = str(state.get("Status", "unknown"))
            code = state.get("ExitCode") if status != "running" else None
            return ServiceState(status, int(code) if code is not None else None)
        except NotFound:
            return None
        except DockerException as exc:
            raise EngineError(f"docker engine {self.url} unreachable: {_reason(exc)}") from None
        finally:
            client.close()

    def service_logs(self, container_id: str, tail: int = 40) -> str:
        """The last ``tail`` lines of the container's output ("" when gone)."""
        from docker.errors import DockerException

        client = self._client(CHECK_TIMEOUT)
        try:
            raw = client.containers.get(container_id).logs(stdout=True, stderr=True, tail=tail)
            return bytes(raw).decode("utf-8", "replace")
        except DockerException:
            return ""
        finally:
            client.close()

    def remove_service(self, container_id: str, *, grace: int = 10) -> bool:
        """Stop (SIGTERM, then SIGKILL after ``grace`` seconds) and remove the
        container; False when it was already gone."""
        from docker.errors import DockerException, NotFound

        client = self._client(None)
        try:
            container = client.containers.get(container_id)
            with contextlib.suppress(DockerException):
                container.stop(timeout=grace)
            container.remove(force=True)
            return True
        except NotFound:
            return False
        except DockerException as exc:
            raise EngineError(
                f"removing container {container_id[:12]} on {self.url}: {_reason(exc)}"
            ) from None
        finally:
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

    def remove_job(self, name: str) -> int:
        """Remove the containers of job ``name`` left by a process that died
        while running it; returns how many (0 when the engine does not answer)."""
        from docker.errors import DockerException

        try:
            client = self._client(10)
        except DockerException:
            return 0
        try:
            left = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={name}"})
            for container in left:
                container.remove(force=True)
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


def _ensure_image(
    client: Any, image: str, login: tuple[str, str] | None, on_progress: Sink
) -> None:
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
    for event in events:
        if "error" in event:
            raise EngineError(pull_failure(image, str(event["error"])))
        pull.add(event)
        now = time.monotonic()
        if pull.layers and now - last > 0.5:
            on_progress(f"pulling {image}: {pull.line()}")
            last = now
    on_progress(f"pulled {image}")
