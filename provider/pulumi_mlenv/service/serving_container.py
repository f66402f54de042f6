"""The container of one deployment instance: the inference server started
with the model mounted and the version's variables, then liveness waited
for; a server that never answers leaves no container and no record."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pulumi_mlenv.compute.docker_target import ServiceSpec
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.inference import CODE_DIR, MODELS_DIR
from pulumi_mlenv.service.inference_images import SERVER_MODULE, EnvironmentInfo
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.run_environments import run_variables
from pulumi_mlenv.service.scoring_code import Code
from pulumi_mlenv.workspace.serving_store import DeploymentRecord, ModelRecord

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import ServiceEngine, ServingStore

__all__ = ["LOG_TAIL", "start_container", "wait_until_live"]

#: Lines of the server's log shown when it fails to start.
LOG_TAIL = 60


def wait_until_live(
    name: str,
    timeout: float,
    target: ServiceEngine,
    store: ServingStore,
    record: DeploymentRecord,
    container: str,
    io: Outside,
) -> None:
    """Wait ``timeout`` seconds for ``GET /``; healthy, it is recorded so;
    otherwise the container and its record are removed and the error ends
    with the log."""
    outcome = io.http.wait_until_live(
        f"http://127.0.0.1:{record.port}/",
        timeout=timeout,
        still_running=lambda: _running(target, container),
    )
    if outcome != "live":
        tail = target.service_logs(container, LOG_TAIL)
        target.remove_service(container, grace=0)
        store.delete_deployment(record.instance)
        why = (
            f"did not answer GET / within {timeout:g} s (the timeout input)"
            if outcome == "timeout"
            else "stopped while starting (did init() raise?)"
        )
        raise MlenvError(
            f"deployment {name}: the inference server {why}; its container was removed"
            f"\n--- end of the server's log ---\n{tail.rstrip()}"
        )
    store.put_deployment(replace(record, status="healthy"))


def _running(target: ServiceEngine, container: str) -> bool:
    state = target.service_state(container)
    return state is not None and state.running


def start_container(
    target: ServiceEngine,
    instance: str,
    port: int,
    model: ModelRecord,
    env: EnvironmentInfo,
    code: Code,
    image: str,
    labels: dict[str, str],
) -> str:
    """Start the inference server of ``instance`` on ``port`` (host network),
    the model mounted read-only where the scoring script looks for it."""
    model_dir = f"{MODELS_DIR}/{model.name}/{model.version}"
    return target.start_service(
        ServiceSpec(
            name=f"mlenv-{instance}",
            image=image,
            command=(
                env.python,
                "-m",
                f"{SERVER_MODULE}.amlserver",
                "--entry_script",
                f"{CODE_DIR}/{code.entry}",
                "--port",
                str(port),
            ),
            # Unbuffered: the server's banner and its errors reach the log in order.
            env={
                # The same variables a run of this version gets (secrets resolved here).
                **dict(run_variables(env.variables, f"{env.name}:{env.version}")),
                "AZUREML_MODEL_DIR": model_dir,
                "PYTHONUNBUFFERED": "1",
            },
            mounts={model.uri: model_dir},
            workdir=CODE_DIR,
            labels={"org.pulumi-mlenv.model": model.label, **labels},
        )
    )
