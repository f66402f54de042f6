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

import hashlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from pulumi_mlenv.compute.docker_target import ServiceSpec
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition.artifacts import tree_digest
from pulumi_mlenv.definition.scoring import check_entry_script
from pulumi_mlenv.errors import EngineError, MlenvError, Problem, SpecError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.imaging.dockerfile import VENV_PATH
from pulumi_mlenv.imaging.inference import (
    CODE_DIR,
    INFERENCE_REPOSITORY,
    MODELS_DIR,
    InferenceBuild,
    inference_key,
)
from pulumi_mlenv.service import leftovers
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.port_reservation import IN_USE_FIX, pick_port, port_lock
from pulumi_mlenv.service.run_environments import run_variables
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

SERVER_PACKAGE = "azureml-inference-server-http"
SERVER_MODULE = "azureml_inference_server_http"
#: Lines of the server's log shown when it fails to start.
LOG_TAIL = 60


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


@dataclass(frozen=True, slots=True)
class Code:
    """The scoring code: ``entry`` (path relative to the code folder),
    ``entry_hash`` (the script alone), ``source_hash`` (the source folder,
    None without one) and ``code_hash`` (all of it: keys the image)."""

    entry: str
    entry_hash: str
    source_hash: str | None
    code_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentInfo:
    """An environment version as a deployment needs it."""

    name: str
    version: str
    image: str
    env_hash: str
    system_managed: bool
    python: str
    variables: tuple[tuple[str, str], ...] = ()

    @property
    def digest(self) -> str:
        return self.image.rsplit("@", 1)[-1]


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


def _resolve_entry(entry_script: str, source: str | None) -> tuple[Path, Path | None]:
    entry = Path(entry_script)
    root = Path(source) if source else None
    if root is not None and not entry.is_absolute():
        entry = root / entry
    return entry, root


def code_of(entry_script: str, source: str | None) -> Code:
    """Digests of the scoring code. Raises ``SpecError`` naming
    ``entry_script`` or ``source`` when a path is missing or misplaced."""
    entry, root = _resolve_entry(entry_script, source)
    if root is not None and not root.is_dir():
        raise SpecError.at("source", f"no folder at {root}", "give the folder holding the code")
    if not entry.is_file():
        raise SpecError.at("entry_script", f"no file at {entry}", "give the scoring script's path")
    entry_hash = tree_digest(entry).digest
    if root is None:
        return Code(entry.name, entry_hash, None, _sha(entry.name, entry_hash))
    try:
        rel = entry.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise SpecError.at(
            "entry_script",
            f"{entry} is not inside the source folder {root}",
            "give a path inside source= (or relative to it)",
        ) from None
    source_hash = tree_digest(root).digest
    return Code(rel, entry_hash, source_hash, _sha(rel, source_hash))


def _sha(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


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
        entry, _ = _resolve_entry(spec.entry_script, spec.source)
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


def environment_info(
    ref: str, *, workspace_url: str, outside: Outside | None = None
) -> EnvironmentInfo:
    """The environment version ``NAME:VERSION`` from the workspace."""
    from pulumi_mlenv.definition import parse_definition

    name, _, version = ref.partition(":")
    with outside_or_real(outside).workspace(workspace_url) as ws:
        record = ws.get_version(name, version or None)
    if record is None:
        raise SpecError.at(
            "environment", f"no environment version {ref} in the workspace", "register it first"
        )
    spec = parse_definition(record.definition)
    user = spec.python.user_managed
    return EnvironmentInfo(
        name=record.name,
        version=record.version,
        image=record.image,
        env_hash=record.env_hash,
        system_managed=not user,
        python=(spec.python.interpreter_path or "python3") if user else f"{VENV_PATH}/bin/python",
        variables=tuple(record.environment_variables),
    )


def list_deployments(workspace_url: str, *, outside: Outside | None = None) -> list[Any]:
    """The deployments the workspace records (running or not)."""
    with outside_or_real(outside).serving(workspace_url) as store:
        return list(store.list_deployments())


def _check_server(target: ServiceEngine, env: EnvironmentInfo) -> None:
    """A user-managed environment must contain the server itself."""
    code, output = target.run(env.image, [env.python, "-c", f"import {SERVER_MODULE}"], {})
    if code != 0:
        raise SpecError.at(
            "environment",
            f"the user-managed environment {env.name}:{env.version} does not contain the "
            f"package {SERVER_PACKAGE}, which serves models as web services "
            f"({output.strip().splitlines()[-1] if output.strip() else f'exit code {code}'})",
            f"add {SERVER_PACKAGE} to the environment's own image (e.g. a Docker step "
            f"`RUN {env.python} -m pip install {SERVER_PACKAGE}`), or use a system-managed "
            "environment",
        )


def _code_folder(spec: DeploymentSpec, into: Path) -> Path:
    entry, root = _resolve_entry(spec.entry_script, spec.source)
    folder = into / "code"
    if root is None:
        folder.mkdir(parents=True)
        shutil.copy2(entry, folder / entry.name)
    else:
        shutil.copytree(
            root, folder, ignore=shutil.ignore_patterns("__pycache__", ".git", "*.pyc", "*.pyo")
        )
    return folder


def _inference_image(
    spec: DeploymentSpec,
    env: EnvironmentInfo,
    code: Code,
    settings: Settings,
    progress: Callable[[StepEvent], None] | None,
    io: Outside,
) -> tuple[str, str, bool, float]:
    """``(image by digest, digest, built, seconds)``: reused by key, else
    built once (a cross-process lock per key)."""
    started = time.monotonic()
    key = inference_key(
        env.digest, settings.inference_server, code.code_hash, system_managed=env.system_managed
    )
    with io.registry(settings.registry, settings) as client:
        repository = client.repository_for(INFERENCE_REPOSITORY)
        found = client.digest_of(repository, key)
        if found is None:
            locks = Path(settings.cache_dir).expanduser() / "locks"
            locks.mkdir(parents=True, exist_ok=True)
            with FileLock(str(locks / f"inference-{key}.lock")):
                found = client.digest_of(repository, key)
                if found is None:
                    work = Path(settings.cache_dir).expanduser() / "build"
                    work.mkdir(parents=True, exist_ok=True)
                    with tempfile.TemporaryDirectory(prefix="code-", dir=work) as tmp:
                        built = io.build_inference(
                            InferenceBuild(
                                env_image=env.image,
                                system_managed=env.system_managed,
                                server=settings.inference_server,
                                code_dir=_code_folder(spec, Path(tmp)),
                                code_hash=code.code_hash,
                                image_name=f"{client.host}/{repository}:{key}",
                                buildkit_host=settings.buildkit_host,
                                work_dir=work,
                                ca_bundle=settings.ca_bundle,
                                registry_auth=settings.registry_credentials,
                            ),
                            progress,
                        )
                    digest = built.digest
                    return f"{client.host}/{repository}@{digest}", digest, True, built.seconds
        return f"{client.host}/{repository}@{found}", found, False, time.monotonic() - started


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
    from dataclasses import replace

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
        _check_server(target, env)
    image, digest, built, build_seconds = _inference_image(spec, env, code, settings, progress, io)
    instance = f"{spec.name}-{uuid.uuid4().hex[:8]}"
    with io.serving(workspace_url) as store:
        swept = leftovers.sweep(spec.name, store=store, engine=target, workspace_url=workspace_url)
        starting = DeploymentRecord(
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
        record = _reserve(spec, store, settings, starting, io)
        try:
            labels = leftovers.labels_for(spec.name, instance, workspace_url)
            container = _start(target, instance, record.port, model, env, code, image, labels)
        except MlenvError:
            store.delete_deployment(instance)
            raise
        record = store.put_deployment(_with(record, container_id=container))
        _wait_until_live(spec, target, store, record, container, io)
    return Deployed(
        instance=instance,
        name=spec.name,
        scoring_uri=f"http://127.0.0.1:{record.port}/score",
        port=record.port,
        container_id=container,
        image=image,
        image_digest=digest,
        env_name=env.name,
        env_version=env.version,
        model_name=model.name,
        model_version=model.version,
        code_hash=code.code_hash,
        built=built,
        build_seconds=build_seconds if built else 0.0,
        seconds=time.monotonic() - started,
        swept=tuple(swept),
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


def _wait_until_live(
    spec: DeploymentSpec,
    target: ServiceEngine,
    store: ServingStore,
    record: DeploymentRecord,
    container: str,
    io: Outside,
) -> None:
    """Wait for ``GET /``; healthy, it is recorded so; otherwise the
    container and its record are removed and the error ends with the log."""
    outcome = io.http.wait_until_live(
        f"http://127.0.0.1:{record.port}/",
        timeout=spec.timeout,
        still_running=lambda: _running(target, container),
    )
    if outcome != "live":
        tail = target.service_logs(container, LOG_TAIL)
        target.remove_service(container, grace=0)
        store.delete_deployment(record.instance)
        why = (
            f"did not answer GET / within {spec.timeout:g} s (the timeout input)"
            if outcome == "timeout"
            else "stopped while starting (did init() raise?)"
        )
        raise MlenvError(
            f"deployment {spec.name}: the inference server {why}; its container was removed"
            f"\n--- end of the server's log ---\n{tail.rstrip()}"
        )
    store.put_deployment(_with(record, status="healthy"))


def _running(target: ServiceEngine, container: str) -> bool:
    state = target.service_state(container)
    return state is not None and state.running


def _start(
    target: ServiceEngine,
    instance: str,
    port: int,
    model: ModelRecord,
    env: EnvironmentInfo,
    code: Code,
    image: str,
    labels: dict[str, str],
) -> str:
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
