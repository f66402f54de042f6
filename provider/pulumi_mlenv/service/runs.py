"""Runs (R3): an environment, a compute target and a script become a
recorded run.

``submit`` checks the script, source and target before anything starts,
resolves the environment (a definition file is registered exactly as the
``Environment`` resource would register it, R6; ``NAME[:VERSION]`` reads a
registered version), gets what the target needs (the image by digest for
``docker``; a virtualenv keyed by hash for ``local``; that virtualenv packed
once per hash for ``spark``), snapshots the source by content, records the
run, runs it while streaming its output to the caller and to the run's log,
and records how it ended. ``rerun`` repeats a recorded run with the same
digest, lock, hash and source snapshot, whatever the environment's latest
version is.

Interrupted (``KeyboardInterrupt``: Ctrl-C, or SIGTERM made into one by the
CLI), the target stops what it started and the run is recorded
``cancelled`` before the exception goes on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pulumi_mlenv.compute import (
    ComputeTarget,
    DockerTarget,
    Job,
    LocalTarget,
    Sink,
    SparkTarget,
)
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.spec import EnvironmentSpec
from pulumi_mlenv.workspace import ComputeTargetRecord, RunRecord, RunStatus, RunStore

__all__ = [
    "BUILTIN_TARGETS",
    "LOG_NAME",
    "Prepared",
    "RunRequest",
    "Submitted",
    "compute_targets",
    "get_run",
    "list_runs",
    "locate_script",
    "log_tail",
    "rerun",
    "submit",
]

#: Targets every workspace has without registering them.
BUILTIN_TARGETS = ("local", "docker")
#: The run's merged output, in its folder.
LOG_NAME = "output.log"


def _ignore(_text: str) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """What the user asks for.

    ``environment``: a definition file or folder (any supported format), or
    ``NAME[:VERSION]`` of a registered version (the latest without a
    version). ``compute``: ``local``, ``docker`` or a registered target's
    name. ``source``: the folder snapshotted and mounted; the script's own
    folder when not given. ``script`` is relative to ``source`` (or to the
    current folder, inside ``source``). ``expect_hash``: refuse to run when
    the registered version named does not have this hash (the Pulumi
    resource passes its Environment's hash).
    """

    script: str
    environment: str
    compute: str = "local"
    arguments: tuple[str, ...] = ()
    source: str | None = None
    expect_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """The environment as a run uses it: the version, its hash, image by
    digest and lock, the definition and the variables to set."""

    name: str
    version: str
    env_hash: str
    image: str
    lock: tuple[str, ...]
    spec: EnvironmentSpec
    variables: tuple[tuple[str, str], ...]
    built: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    """A finished run: its record, whether an image was built for it, and
    (Spark) whether its environment was packed now (``False``: reused)."""

    record: RunRecord
    built: bool = False
    packed: bool | None = None
    pack_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Events:
    """Where a run's output and progress go (the CLI prints them; the
    Pulumi provider keeps them in the run's log only)."""

    on_output: Sink = _ignore
    on_progress: Sink = _ignore
    on_build: Callable[[Any], None] | None = None


# -- checks before anything starts -------------------------------------------


def locate_script(script: str, source: str | None) -> tuple[Path, str]:
    """``(source folder, script path relative to it)``. Raises ``SpecError``
    naming ``script`` or ``source`` when either is missing or the script is
    outside the source."""
    if source is not None:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise SpecError.at(
                "source", f"source folder {source!r} does not exist",
                "give the folder that holds the script and what it reads",
            )  # fmt: skip
        folder = folder.resolve()
        candidate = Path(script).expanduser()
        inside = folder / candidate
        if not candidate.is_absolute() and inside.is_file():
            path = inside.resolve()
        elif candidate.is_file():
            path = candidate.resolve()
        else:
            raise SpecError.at(
                "script", f"script {script!r} not found in {folder} nor in the current folder",
                "give a path relative to --source",
            )  # fmt: skip
        if not path.is_relative_to(folder):
            raise SpecError.at(
                "script",
                f"script {script!r} is outside the source folder {folder}",
                "put it in the source folder, or give a source folder that holds it",
            )
        return folder, path.relative_to(folder).as_posix()
    path = Path(script).expanduser()
    if not path.is_file():
        raise SpecError.at(
            "script", f"script {script!r} not found", "give the path of a Python file"
        )
    path = path.resolve()
    return path.parent, path.name


def compute_targets(settings: Settings, workspace_url: str) -> list[ComputeTargetRecord]:
    """The built-in targets (``local``, ``docker`` on ``DOCKER_HOST``) and
    those registered in the workspace, by name."""
    from pulumi_mlenv.workspace import Workspace

    builtin = [
        ComputeTargetRecord(name="local", kind="local", url=None),
        ComputeTargetRecord(name="docker", kind="docker", url=settings.docker_host),
    ]
    with Workspace(workspace_url) as workspace:
        registered = workspace.list_compute_targets()
    names = {t.name for t in registered}
    return sorted([*(t for t in builtin if t.name not in names), *registered], key=lambda t: t.name)


def _target(record: ComputeTargetRecord, settings: Settings) -> ComputeTarget:
    if record.kind == "local":
        return LocalTarget()
    if record.kind == "docker":
        return DockerTarget(record.url or settings.docker_host)
    if record.kind == "spark":
        if not record.url:
            raise SpecError.at("compute", f"spark target {record.name!r} has no master URL")
        return SparkTarget(record.url, settings.spark_home, str(settings.cache_dir))
    raise SpecError.at(
        "compute", f"compute target {record.name!r} has unknown kind {record.kind!r}"
    )


def resolve_compute(
    name: str, settings: Settings, workspace_url: str
) -> tuple[ComputeTargetRecord, ComputeTarget]:
    """The target called ``name`` (a registered one wins over a built-in of
    the same name). Raises ``SpecError`` listing the known names."""
    targets = compute_targets(settings, workspace_url)
    for record in targets:
        if record.name == name:
            return record, _target(record, settings)
    known = ", ".join(t.name for t in targets)
    raise SpecError.at(
        "compute", f"unknown compute target {name!r}",
        f"use one of: {known} (mlenv compute list; mlenv compute add registers one)",
    )  # fmt: skip


# -- the environment -----------------------------------------------------------


def _from_definition(path: str, settings: Settings, workspace_url: str, events: Events) -> Prepared:
    from pulumi_mlenv.service import environments as envs

    spec = envs.definition_from_inputs({"source": str(Path(path).resolve())})
    resolved = envs.resolve(spec, settings)
    events.on_progress(f"environment {spec.name}: hash {resolved.hash[:12]}, ensuring its image")
    provisioned = envs.provision(
        resolved, settings=settings, workspace_url=workspace_url, progress=events.on_build
    )
    return Prepared(
        name=resolved.spec.name,
        version=provisioned.version,
        env_hash=resolved.hash,
        image=provisioned.image,
        lock=provisioned.lock,
        spec=resolved.spec,
        variables=resolved.spec.environment_variables,
        built=provisioned.built,
    )


def _from_version(
    name: str, version: str | None, workspace_url: str, expect_hash: str | None = None
) -> Prepared:
    from pulumi_mlenv.service import environments as envs
    from pulumi_mlenv.workspace import Workspace

    with Workspace(workspace_url) as workspace:
        record = workspace.get_version(name, version)
        if record is None:
            label = f"{name}:{version}" if version else name
            raise SpecError.at(
                "environment",
                f"no definition file {label!r} and no environment {label} in the workspace",
                "give a definition file, or NAME[:VERSION] of a registered version "
                "(mlenv env versions lists them)",
            )
        digest = record.image.rsplit("@", 1)[-1]
        image = workspace.find_image_by_digest(digest)
    metadata = {"name": record.name, "version": record.version}
    spec = envs.spec_from_state(
        {**record.definition, **metadata}, image.base_digest if image else None
    )
    if expect_hash is not None and record.env_hash != expect_hash:
        raise MlenvError(
            f"environment {record.label} maps to hash {record.env_hash[:12]} in the "
            f"workspace, not {expect_hash[:12]}: is it registered in another workspace?"
        )
    return Prepared(
        name=record.name,
        version=record.version,
        env_hash=record.env_hash,
        image=record.image,
        lock=tuple(image.lock) if image else (),
        spec=spec,
        variables=record.environment_variables,
    )


def prepare_environment(
    reference: str,
    settings: Settings,
    workspace_url: str,
    events: Events,
    expect_hash: str | None = None,
) -> Prepared:
    """A definition file or folder (registered now, R6), else ``NAME[:VERSION]``."""
    if Path(reference).expanduser().exists():
        env = _from_definition(str(Path(reference).expanduser()), settings, workspace_url, events)
        if expect_hash is not None and env.env_hash != expect_hash:
            raise MlenvError(
                f"definition {reference} hashes to {env.env_hash[:12]}, not {expect_hash[:12]}"
            )
        return env
    name, _, version = reference.partition(":")
    if not name or "/" in name:
        raise SpecError.at(
            "environment", f"definition {reference!r} does not exist",
            "give a definition file or folder, or NAME[:VERSION] of a registered version",
        )  # fmt: skip
    return _from_version(name, version or None, workspace_url, expect_hash)


# -- the job -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    job: Job
    lock: tuple[str, ...]
    packed: bool | None
    pack_seconds: float


def check_host_interpreter(spec: EnvironmentSpec) -> str:
    """The user-managed interpreter of ``spec``, which must exist on this host."""
    path = spec.python.interpreter_path or ""
    if not Path(path).is_file():
        raise SpecError.at(
            "python.interpreter_path",
            f"the user-managed interpreter {path!r} does not exist on this host",
            "install it, or run on docker where the image has it",
        )
    return path


def _host_python(env: Prepared, settings: Settings, events: Events) -> tuple[str, tuple[str, ...]]:
    """The host interpreter of ``env`` and the lock it has: a user-managed
    interpreter as given, else the virtualenv keyed by hash (made once)."""
    from pulumi_mlenv.service.images import materialize_local

    spec = env.spec
    if spec.python.user_managed:
        return check_host_interpreter(spec), env.lock
    venv = Path(settings.cache_dir).expanduser() / "venvs" / env.env_hash
    if not (venv / ".mlenv-complete").exists():
        events.on_progress(f"making the virtualenv of {env.name}:{env.version} (once per hash)")
    venv = materialize_local(spec, settings)
    lock_file = venv / "lock.txt"
    lock = tuple(lock_file.read_text().split()) if lock_file.exists() else env.lock
    return str(venv / "bin" / "python"), lock


def _plan(
    kind: str,
    target: ComputeTarget,
    env: Prepared,
    base: Job,
    settings: Settings,
    events: Events,
) -> _Plan:
    if kind == "docker":
        registry = env.image.split("/", 1)[0]
        user, password = settings.login_for(registry)
        job = replace(
            base,
            python=env.spec.python.interpreter_path or "python",
            image=env.image,
            registry_login=(user, password) if user and password else None,
        )
        lock = env.lock
        if not lock and isinstance(target, DockerTarget):
            # An image this workspace did not build: its lock is a file in the image.
            from pulumi_mlenv.imaging.dockerfile import LOCK_PATH
            from pulumi_mlenv.imaging.lock import parse_lock

            text = target.image_file(env.image, LOCK_PATH, job.registry_login, events.on_progress)
            lock = parse_lock(text or "")
        return _Plan(job, lock, None, 0.0)
    python, lock = _host_python(env, settings, events)
    if kind != "spark":
        return _Plan(replace(base, python=python), lock, None, 0.0)
    spark = env.spec.spark
    job = replace(
        base,
        python=python,
        spark_packages=tuple(str(p) for p in spark.packages),
        spark_repositories=spark.repositories,
    )
    if env.spec.python.user_managed:
        return _Plan(replace(job, executor_python=python), lock, None, 0.0)
    from pulumi_mlenv.imaging.pack import archive_path, pack_environment

    started = time.monotonic()
    if not archive_path(settings.cache_dir, env.env_hash).exists():
        events.on_progress("packing the environment for Spark executors (once per hash)")
    archive, packed = pack_environment(Path(python).parent.parent, settings.cache_dir, env.env_hash)
    seconds = time.monotonic() - started
    if packed:
        events.on_progress(f"packed {archive.name} in {seconds:.1f} s")
    return _Plan(replace(job, archive=archive), lock, packed, seconds if packed else 0.0)


# -- running and recording -----------------------------------------------------


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def _run(
    *,
    env: Prepared,
    target_record: ComputeTargetRecord,
    target: ComputeTarget,
    source_folder: Path,
    script: str,
    arguments: tuple[str, ...],
    settings: Settings,
    workspace_url: str,
    events: Events,
    rerun_of: RunRecord | None = None,
) -> Submitted:
    from pulumi_mlenv.service.sources import snapshot

    if rerun_of is not None:
        source_hash, snap = rerun_of.source_hash, source_folder
    else:
        source_hash, snap = snapshot(source_folder, settings.cache_dir)
    run_id = _new_id()
    folder = Path(settings.runs_dir).expanduser() / run_id
    outputs = folder / "outputs"
    outputs.mkdir(parents=True)
    log_path = folder / LOG_NAME
    base = Job(
        name=run_id,
        source=snap,
        script=script,
        arguments=arguments,
        variables=env.variables,
        outputs=outputs,
        python="python",
    )
    plan = _plan(target_record.kind, target, env, base, settings, events)
    store = RunStore(workspace_url)
    try:
        record = store.add(
            RunRecord(
                id=run_id,
                env_name=env.name,
                env_version=env.version,
                env_hash=env.env_hash,
                image=env.image,
                lock=plan.lock,
                compute=target_record.name,
                compute_kind=target_record.kind,
                compute_url=target_record.url,
                source_hash=source_hash,
                source_path=str(snap),
                script=script,
                arguments=arguments,
                variables=tuple(k for k, _ in env.variables),
                logs_path=str(log_path),
                outputs_path=str(outputs),
                rerun_of=rerun_of.id if rerun_of else None,
            )
        )
        with log_path.open("w", encoding="utf-8") as log:

            def output(text: str) -> None:
                log.write(text)
                log.flush()
                events.on_output(text)

            store.mark_running(run_id)
            try:
                code = target.execute(plan.job, output, events.on_progress)
            except KeyboardInterrupt:
                store.finish(run_id, RunStatus.CANCELLED, None, "interrupted")
                raise
            except MlenvError as err:
                store.finish(run_id, RunStatus.FAILED, None, str(err))
                raise
        status = RunStatus.COMPLETED if code == 0 else RunStatus.FAILED
        record = store.finish(run_id, status, code)
    finally:
        store.close()
    return Submitted(
        record=record, built=env.built, packed=plan.packed, pack_seconds=plan.pack_seconds
    )


def submit(
    request: RunRequest,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    events: Events | None = None,
) -> Submitted:
    """Run ``request`` and record it; see the module docstring. Raises
    ``SpecError`` (script, source, compute, environment) and ``EngineError``
    (target not answering) before anything is built or recorded."""
    events = events or Events()
    workspace_url = workspace_url or settings.workspace_url
    source_folder, script = locate_script(request.script, request.source)
    target_record, target = resolve_compute(request.compute, settings, workspace_url)
    target.check()
    reference = Path(request.environment).expanduser()
    if target_record.kind != "docker" and reference.exists():
        # A host interpreter that is not there fails before anything is built.
        from pulumi_mlenv.service.environments import definition_from_inputs

        spec = definition_from_inputs({"source": str(reference.resolve())})
        if spec.python.user_managed:
            check_host_interpreter(spec)
    env = prepare_environment(
        request.environment, settings, workspace_url, events, request.expect_hash
    )
    return _run(
        env=env,
        target_record=target_record,
        target=target,
        source_folder=source_folder,
        script=script,
        arguments=tuple(request.arguments),
        settings=settings,
        workspace_url=workspace_url,
        events=events,
    )


def rerun(
    run_id: str,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    events: Events | None = None,
) -> Submitted:
    """Run a recorded run again: the same compute target, script, arguments
    and source snapshot, and the environment it used (the same image digest
    and lock; on the host and Spark, the virtualenv of the same hash)."""
    events = events or Events()
    workspace_url = workspace_url or settings.workspace_url
    store = RunStore(workspace_url)
    try:
        old = store.get(run_id)
    finally:
        store.close()
    snap = Path(old.source_path)
    if not snap.is_dir():
        raise MlenvError(
            f"the source snapshot of run {old.id} ({snap}) is gone: submit the run again"
        )
    target_record, target = resolve_compute(old.compute, settings, workspace_url)
    target.check()
    env = _from_version(old.env_name, old.env_version, workspace_url, expect_hash=old.env_hash)
    env = replace(env, image=old.image or env.image, lock=old.lock)
    return _run(
        env=env,
        target_record=target_record,
        target=target,
        source_folder=snap,
        script=old.script,
        arguments=old.arguments,
        settings=settings,
        workspace_url=workspace_url,
        events=events,
        rerun_of=old,
    )


def get_run(run_id: str, workspace_url: str) -> RunRecord:
    """The run with this id (or unique prefix)."""
    store = RunStore(workspace_url)
    try:
        return store.get(run_id)
    finally:
        store.close()


def list_runs(workspace_url: str, limit: int = 50) -> list[RunRecord]:
    """The latest runs, newest first."""
    store = RunStore(workspace_url)
    try:
        return store.list(limit)
    finally:
        store.close()


def log_tail(record: RunRecord, lines: int = 20) -> str:
    """The last ``lines`` lines of the run's log ('' when it has none)."""
    path = Path(record.logs_path)
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
