"""Use cases of deployments: a registered model + an environment version +
an entry script (+ a source folder) served as a web service on a Docker
compute target by the Azure ML inference HTTP server, so that Azure ML
scoring scripts (``init()``, ``run(raw_data)``, ``AZUREML_MODEL_DIR``) run
unchanged.

- ``check_deployment``: every problem with the inputs, before anything is
  built or started (entry script, source, model, engine, port).
- ``deploy``: the inference image (reused by key, else built once), a port,
  a container on the host network, then liveness (``GET /``) within the
  timeout; on failure the server's log tail and no container left.
- ``deployment_health`` (refresh) and ``undeploy`` (stop, free the port).

A deployment is an *instance*: a replacement runs beside the deployment it
replaces (its own container and port) until it is healthy.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition.scoring import check_entry_script
from pulumi_mlenv.errors import EngineError, MlenvError, Problem, SpecError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.service import leftovers
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.inference_images import (
    SERVER_MODULE,
    SERVER_PACKAGE,
    EnvironmentInfo,
    InferenceImage,
    check_server,
    environment_info,
    inference_image,
)
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.port_reservation import IN_USE_FIX, pick_port, port_lock
from pulumi_mlenv.service.scoring_code import Code, code_of, resolve_entry
from pulumi_mlenv.service.serving_container import start_container, wait_until_live
from pulumi_mlenv.workspace.serving_store import DeploymentRecord, ModelRecord

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import ServiceEngine, ServingStore

__all__ = [
    "SERVER_MODULE",
    "SERVER_PACKAGE",
    "Code",
    "Deployed",
    "DeploymentSpec",
    "EnvironmentInfo",
    "check_deployment",
    "code_of",
    "deploy",
    "deployment_health",
    "environment_info",
    "inspect_deployment",
    "undeploy",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSpec:
    """What to deploy. ``model`` and ``environment`` are ``NAME:VERSION`` in
    the workspace; ``entry_script`` an absolute path (inside ``source`` when
    a source folder is given); ``timeout`` seconds to wait for liveness;
    ``port`` a fixed port (None: one is allocated)."""

    name: str
    model: str
    environment: str
    entry_script: str
    compute_url: str
    source: str | None = None
    timeout: float = 120.0
    port: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployed:
    """A healthy deployment. ``built`` says whether the inference image was
    built (False: reused by key)."""

    instance: str
    name: str
    scoring_uri: str
    port: int
    container_id: str
    image: str
    image_digest: str
    env_name: str
    env_version: str
    model_name: str
    model_version: str
    code_hash: str
    built: bool
    build_seconds: float
    seconds: float
    status: str = "healthy"
    log_tail: str = field(default="", repr=False)
    #: What interrupted creates of this name had left and was removed, in words.
    swept: tuple[str, ...] = ()


def check_deployment(
    spec: DeploymentSpec,
    *,
    workspace_url: str | None,
    check_engine: bool = True,
    check_port: bool = True,
    outside: Outside | None = None,
) -> list[Problem]:
    """Every problem with ``spec`` (empty when it can be deployed): the entry
    script (missing, no ``init()`` or ``run(raw_data)``), the source folder,
    the model (when a workspace is given), the engine (does it answer) and a
    fixed port (is it free). Nothing is built, started or recorded."""
    return inspect_deployment(
        spec,
        workspace_url=workspace_url,
        check_engine=check_engine,
        check_port=check_port,
        outside=outside,
    )[0]


def inspect_deployment(
    spec: DeploymentSpec,
    *,
    workspace_url: str | None,
    check_engine: bool = True,
    check_port: bool = True,
    outside: Outside | None = None,
) -> tuple[list[Problem], Code | None]:
    """``check_deployment``'s problems and the code's digests (None when the
    code has a problem): the code is read and hashed once."""
    io = outside_or_real(outside)
    problems: list[Problem] = []
    code: Code | None = None
    try:
        code = code_of(spec.entry_script, spec.source)
        entry, _ = resolve_entry(spec.entry_script, spec.source)
        found = check_entry_script(entry.read_text(errors="replace"), name=entry.name)
        problems += found
        code = None if found else code
    except SpecError as err:
        problems += err.problems
    if workspace_url is not None:
        from pulumi_mlenv.service.models import find_model

        try:
            find_model(spec.model, workspace_url=workspace_url, outside=io)
        except MlenvError as err:
            problems.append(Problem("model", str(err), "register the model first"))
    if check_engine:
        try:
            io.engine(spec.compute_url).check()
        except MlenvError as err:
            problems.append(Problem("compute", str(err), "start the engine or fix the URL"))
    if spec.port is not None:
        if not 1 <= spec.port <= 65535:
            problems.append(Problem("port", f"{spec.port} is not a port number", "use 1..65535"))
        elif check_port and io.tcp.in_use(spec.port):
            problems.append(
                Problem(
                    "port",
                    f"port {spec.port} on 127.0.0.1 is already in use",
                    IN_USE_FIX,
                )
            )
    if spec.timeout <= 0:
        problems.append(Problem("timeout", f"{spec.timeout} is not a positive number of seconds"))
    return problems, code


def list_deployments(workspace_url: str, *, outside: Outside | None = None) -> list[Any]:
    """The deployments the workspace records (running or not)."""
    with outside_or_real(outside).serving(workspace_url) as store:
        return list(store.list_deployments())


def _reserve(
    spec: DeploymentSpec,
    store: ServingStore,
    settings: Settings,
    record: DeploymentRecord,
    io: Outside,
) -> DeploymentRecord:
    """Pick the port and record the deployment as ``starting``, under a
    machine-wide lock, so two deployments starting at once never share one."""
    with port_lock(settings):
        port = pick_port(spec.port, store.used_ports(), io, f"deployment {spec.name}")
        return store.put_deployment(_with(record, port=port))


def _with(record: DeploymentRecord, **changes: object) -> DeploymentRecord:
    return replace(record, **changes)  # type: ignore[arg-type]


def deploy(
    spec: DeploymentSpec,
    *,
    settings: Settings,
    workspace_url: str,
    progress: Callable[[StepEvent], None] | None = None,
    outside: Outside | None = None,
    code: Code | None = None,
) -> Deployed:
    """Deploy ``spec`` and wait until it is live (``GET /`` answers 200).

    Order: inputs checked; engine pinged; a user-managed environment probed
    for the server (``SpecError`` naming the package); the inference image
    reused or built; a port reserved; the container started; liveness within
    ``spec.timeout``. Any failure after the start removes the container and
    the record, and the error carries the end of the server's log. ``code``:
    the digests ``inspect_deployment`` made in ``check`` (read once per up);
    without it the code is checked and hashed here."""
    from pulumi_mlenv.service.models import find_model

    io = outside_or_real(outside)
    started = time.monotonic()
    code, target = _preflight(spec, code, io)
    model = find_model(spec.model, workspace_url=workspace_url, outside=io)
    env = environment_info(spec.environment, workspace_url=workspace_url, outside=io)
    if not env.system_managed:
        check_server(target, env)
    built = inference_image(
        env, code, settings, progress, io, entry_script=spec.entry_script, source=spec.source
    )
    instance = f"{spec.name}-{uuid.uuid4().hex[:8]}"
    with io.serving(workspace_url) as store:
        swept = leftovers.sweep(spec.name, store=store, engine=target, workspace_url=workspace_url)
        starting = _starting(spec, instance, model, env, code, built.image)
        record = _reserve(spec, store, settings, starting, io)
        try:
            labels = leftovers.labels_for(spec.name, instance, workspace_url)
            container = start_container(
                target, instance, record.port, model, env, code, built.image, labels
            )
        except MlenvError:
            store.delete_deployment(instance)
            raise
        record = store.put_deployment(_with(record, container_id=container))
        wait_until_live(spec.name, spec.timeout, target, store, record, container, io)
    return _deployed(record, built, env, swept=tuple(swept), seconds=time.monotonic() - started)


def _starting(
    spec: DeploymentSpec,
    instance: str,
    model: ModelRecord,
    env: EnvironmentInfo,
    code: Code,
    image: str,
) -> DeploymentRecord:
    """The record of an instance about to start (its port not yet picked)."""
    return DeploymentRecord(
        instance=instance,
        name=spec.name,
        model_name=model.name,
        model_version=model.version,
        env_name=env.name,
        env_version=env.version,
        image=image,
        compute_url=spec.compute_url,
        port=0,
        container_id=None,
        code_hash=code.code_hash,
        status="starting",
        details={
            "entry_script": code.entry,
            "env_image": env.image,
            "owner": leftovers.owner(),
        },
    )


def _deployed(
    record: DeploymentRecord,
    built: InferenceImage,
    env: EnvironmentInfo,
    *,
    swept: tuple[str, ...],
    seconds: float,
) -> Deployed:
    return Deployed(
        instance=record.instance,
        name=record.name,
        scoring_uri=f"http://127.0.0.1:{record.port}/score",
        port=record.port,
        container_id=record.container_id or "",
        image=built.image,
        image_digest=built.digest,
        env_name=env.name,
        env_version=env.version,
        model_name=record.model_name,
        model_version=record.model_version,
        code_hash=record.code_hash,
        built=built.built,
        build_seconds=built.seconds if built.built else 0.0,
        seconds=seconds,
        swept=swept,
    )


def _preflight(spec: DeploymentSpec, code: Code | None, io: Outside) -> tuple[Code, ServiceEngine]:
    """The code's digests (checked and hashed here when ``check`` did not)
    and the engine, which must answer (``SpecError`` naming ``compute``)."""
    if code is None:
        problems, code = inspect_deployment(
            spec, workspace_url=None, check_engine=False, check_port=False, outside=io
        )
        if problems or code is None:
            raise SpecError(problems)
    target = io.engine(spec.compute_url)
    try:
        target.check()
    except EngineError as err:
        raise SpecError.at("compute", str(err), "start the engine or fix the URL") from None
    return code, target


def deployment_health(
    instance: str,
    *,
    container_id: str,
    compute_url: str,
    port: int,
    workspace_url: str | None,
    outside: Outside | None = None,
) -> str:
    """``healthy`` (running and live), ``unhealthy`` (stopped, gone or not
    answering) or ``unknown`` (the engine does not answer: never a reason to
    drop anything). Records the answer in the workspace when one is given."""
    io = outside_or_real(outside)
    try:
        state = io.engine(compute_url).service_state(container_id)
    except MlenvError:
        return "unknown"
    live = state is not None and state.running and io.http.is_live(f"http://127.0.0.1:{port}/")
    status = "healthy" if live else "unhealthy"
    if workspace_url:
        with io.serving(workspace_url) as store:
            store.set_deployment_status(instance, status)
    return status


def undeploy(
    instance: str,
    *,
    container_id: str | None,
    compute_url: str,
    workspace_url: str | None,
    outside: Outside | None = None,
) -> bool:
    """Stop and remove the container (gone already: fine), then forget the
    record (its port is free again). False when there was no container."""
    io = outside_or_real(outside)
    removed = False
    if container_id:
        removed = io.engine(compute_url).remove_service(container_id)
    if workspace_url:
        with io.serving(workspace_url) as store:
            store.delete_deployment(instance)
    return removed
