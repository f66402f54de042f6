"""Long-running containers (deployments) on a Docker engine: started
detached on the host network with read-only mounts, listed by label, their
state and log tail read, stopped and removed."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from pulumi_mlenv.compute.docker_engine import CHECK_TIMEOUT, DockerEngine
from pulumi_mlenv.compute.docker_engine import reason as _reason
from pulumi_mlenv.errors import EngineError

__all__ = ["SERVICE_LABEL", "DockerServices", "ServiceSpec", "ServiceState"]

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


@dataclass(frozen=True, slots=True)
class DockerServices(DockerEngine):
    """The service half of ``DockerTarget``: what a deployment needs of an engine."""

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
            # The low-level list: one call, no per-container fetch that a
            # container removed meanwhile would fail with NotFound.
            found = client.api.containers(all=True, filters={"label": wanted})
            return [(str(c["Id"]), dict(c.get("Labels") or {})) for c in found]
        except DockerException as exc:
            raise self.unreachable(exc) from None
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
            raise self.unreachable(exc) from None
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
