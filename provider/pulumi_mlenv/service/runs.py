"""Runs (a run is environment, target and script): an environment, a compute target and a script
become a
recorded run.

``submit`` checks the script, source and target before anything starts,
resolves the environment (a definition file is registered exactly as the
``Environment`` resource would register it, registered on first use; ``NAME[:VERSION]`` reads a
registered version), gets what the target needs (the image by digest for
``docker``; a virtualenv keyed by hash for ``local``; that virtualenv packed
once per hash for ``spark``; that virtualenv with the cluster's Ray beside
it for ``ray``), snapshots the source by content, records the
run, runs it while streaming its output to the caller and to the run's log,
and records how it ended. ``rerun`` repeats a recorded run with the same
digest, lock, hash and source snapshot, whatever the environment's latest
version is.

Interrupted (``KeyboardInterrupt``: Ctrl-C, or SIGTERM made into one by the
CLI), the target stops what it started and the run is recorded
``cancelled`` before the exception goes on.
"""

from __future__ import annotations

import errno
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pulumi_mlenv.compute import ComputeTarget, Job, RayTarget
from pulumi_mlenv.compute.spark_output import SparkOutput
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import RUN_HEADING, MlenvError, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.compute_targets import (
    BUILTIN_TARGETS,
    compute_targets,
    resolve_compute,
)
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.ray_environment import check_ray_pins
from pulumi_mlenv.service.run_environments import (
    IMAGE_KINDS,
    Events,
    Prepared,
    RunEnvironment,
    check_host_interpreter,
    from_version,
    plan_job,
    prepare_environment,
    with_image,
)
from pulumi_mlenv.service.run_reads import get_run, list_runs
from pulumi_mlenv.workspace import ComputeTargetRecord, RunRecord, RunStatus

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import RunStore

__all__ = [
    "BUILTIN_TARGETS",
    "LOG_NAME",
    "Events",
    "Prepared",
    "RunEnvironment",
    "RunRequest",
    "Submitted",
    "compute_targets",
    "get_run",
    "list_runs",
    "locate_script",
    "log_tail",
    "rerun",
    "resolve_compute",
    "submit",
]

#: The run's merged output, in its folder.
LOG_NAME = "output.log"


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
    resource passes its Environment's hash). ``variables``: the values of the
    environment's variables when the caller has them (the Pulumi resource:
    its Environment's secret output); otherwise a definition file gives
    them, and a registered version has them in the workspace (a secret one
    as a reference, read from the submitting process's environment).
    """

    script: str
    environment: str
    compute: str = "local"
    arguments: tuple[str, ...] = ()
    source: str | None = None
    expect_hash: str | None = None
    variables: tuple[tuple[str, str], ...] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    """A finished run: its record, whether an image was built for it, and
    (Spark) whether its environment was packed now (``False``: reused)."""

    record: RunRecord
    built: bool = False
    packed: bool | None = None
    pack_seconds: float = 0.0


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
                heading=RUN_HEADING,
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
                heading=RUN_HEADING,
            )  # fmt: skip
        if not path.is_relative_to(folder):
            raise SpecError.at(
                "script",
                f"script {script!r} is outside the source folder {folder}",
                "put it in the source folder, or give a source folder that holds it",
                heading=RUN_HEADING,
            )
        return folder, path.relative_to(folder).as_posix()
    path = Path(script).expanduser()
    if not path.is_file():
        raise SpecError.at(
            "script",
            f"script {script!r} not found",
            "give the path of a Python file",
            heading=RUN_HEADING,
        )
    path = path.resolve()
    return path.parent, path.name


# -- running and recording -----------------------------------------------------


@contextmanager
def _heartbeat(store: RunStore, run_id: str) -> Iterator[None]:
    """Beat every quarter of the lost-after time while the run runs, so that
    a reader on another host can tell a live run from a dead one."""
    from pulumi_mlenv.workspace.run_owner import lost_after

    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lost_after() / 4):
            try:
                store.beat(run_id)
            except Exception:  # a missed beat is retried; the run goes on
                continue

    thread = threading.Thread(target=beat, name=f"mlenv-run-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _signal_reason(code: int) -> str | None:
    """Why a script ended with a signal's exit code (a process, container or
    driver stopped from outside), else None."""
    number = -code if code < 0 else code - 128 if 128 < code < 160 else 0
    if not number:
        return None
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return f"killed by {name}: its process, container or driver was stopped from outside"


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def _run(
    *,
    env: RunEnvironment,
    target_record: ComputeTargetRecord,
    target: ComputeTarget,
    source_folder: Path,
    script: str,
    arguments: tuple[str, ...],
    settings: Settings,
    workspace_url: str,
    events: Events,
    io: Outside,
    rerun_of: RunRecord | None = None,
) -> Submitted:
    from pulumi_mlenv.service.sources import snapshot, working_copy

    if rerun_of is not None:
        source_hash, snap = rerun_of.source_hash, source_folder
    else:
        source_hash, snap = snapshot(source_folder, settings.cache_dir)
    run_id = _new_id()
    folder = Path(settings.runs_dir).expanduser() / run_id
    outputs = folder / "outputs"
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
    plan = plan_job(target_record.kind, target, env, base, settings, events, outside=io)
    if target_record.kind in IMAGE_KINDS:  # the run needs its image: say so in the registry
        from pulumi_mlenv.service.holds import publish

        warning = publish(
            env.image, "run", settings=settings, workspace_url=workspace_url, outside=io
        )
        if warning:
            events.on_progress(warning)
    outputs.mkdir(parents=True)  # only once the environment is ready for the target
    store = io.runs(workspace_url)
    try:
        record = store.add(
            RunRecord(
                id=run_id,
                env_name=env.name,
                env_version=env.version,
                env_hash=env.env_hash,
                image=env.image or None,
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
                details=plan.details,
            )
        )
        # The log keeps everything; a Spark run's stream shows the script's
        # lines and warnings, not Spark's chatter.
        shown = SparkOutput() if target_record.kind == "spark" else None
        try:
            # The script works in a copy: the snapshot stays what was hashed,
            # for reruns. Copying and opening the log are inside: a full runs
            # folder fails the recorded run here too.
            plan = replace(plan, job=replace(plan.job, source=working_copy(snap, folder)))
            with log_path.open("w", encoding="utf-8") as log:

                def output(text: str) -> None:
                    log.write(text)
                    log.flush()
                    shown_text = shown.feed(text) if shown is not None else text
                    if shown_text:
                        events.on_output(shown_text)

                store.mark_running(run_id)
                with _heartbeat(store, run_id):
                    code = target.execute(plan.job, output, events.on_progress)
                if shown is not None and (rest := shown.flush()):
                    events.on_output(rest)
        except KeyboardInterrupt:
            store.finish(run_id, RunStatus.CANCELLED, None, "interrupted")
            raise
        except OSError as err:
            if err.errno != errno.ENOSPC:
                store.finish(run_id, RunStatus.FAILED, None, f"{type(err).__name__}: {err}")
                raise
            reason = (
                f"the runs folder {settings.runs_dir} is full (no space left on device)"
                ": free space there, or set MLENV_RUNS_DIR"
            )
            store.finish(run_id, RunStatus.FAILED, None, reason)
            raise MlenvError(f"run {run_id} failed: {reason}") from None
        except Exception as err:  # whatever stopped it, the run must not stay "running"
            reason = str(err) if isinstance(err, MlenvError) else f"{type(err).__name__}: {err}"
            store.finish(run_id, RunStatus.FAILED, None, reason)
            raise
        status = RunStatus.COMPLETED if code == 0 else RunStatus.FAILED
        record = store.finish(run_id, status, code, _signal_reason(code))
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
    outside: Outside | None = None,
) -> Submitted:
    """Run ``request`` and record it; see the module docstring. Raises
    ``SpecError`` (script, source, compute, environment) and ``EngineError``
    (target not answering) before anything is built or recorded."""
    io = outside_or_real(outside)
    events = events or Events()
    workspace_url = workspace_url or settings.workspace_url
    source_folder, script = locate_script(request.script, request.source)
    target_record, target = resolve_compute(request.compute, settings, workspace_url, outside=io)
    target.check()
    reference = Path(request.environment).expanduser()
    if target_record.kind != "docker" and reference.exists():
        # A host interpreter that is not there fails before anything is built.
        from pulumi_mlenv.service.environments import definition_from_inputs

        spec = definition_from_inputs({"source": str(reference.resolve())})
        if spec.python.user_managed:
            check_host_interpreter(spec)
        if isinstance(target, RayTarget):  # another Ray than the cluster's: refused now
            check_ray_pins(spec, target.ray_version(), target.url)
    env = prepare_environment(
        request.environment,
        settings,
        workspace_url,
        events,
        request.expect_hash,
        needs_image=target_record.kind in IMAGE_KINDS,
        given=request.variables,  # the caller's values (the Run resource's secret input)
        outside=io,
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
        io=io,
    )


def _check_image(old: RunRecord, image: str, settings: Settings, io: Outside) -> None:
    """The run's image must still be in its registry: else one line saying
    so (and who deleted it, when known) and how to rebuild."""
    from pulumi_mlenv.service.holds import split_image
    from pulumi_mlenv.service.image_facts import gone_note

    place = split_image(image)
    if place is None:
        return
    with io.registry(place.registry, settings) as client:
        if client.digest_of(place.repository, place.digest) is not None:
            return
    raise MlenvError(
        f"the image of run {old.id} ({image}) is gone from its registry"
        f"{gone_note(image, settings, io) or ''}: `mlenv run rerun {old.id} --rebuild` "
        f"builds {old.env_name}:{old.env_version} again from its definition "
        "(its installed packages may differ from the recorded lock)"
    )


def rerun(
    run_id: str,
    *,
    settings: Settings,
    workspace_url: str | None = None,
    events: Events | None = None,
    rebuild: bool = False,
    outside: Outside | None = None,
) -> Submitted:
    """Run a recorded run again: the same compute target, script, arguments
    and source snapshot, and the environment it used (the same image digest
    and lock; on the host and Spark, the virtualenv of the same hash). An
    image gone from its registry fails in one line, unless ``rebuild``:
    then the version's definition is built again."""
    io = outside_or_real(outside)
    events = events or Events()
    workspace_url = workspace_url or settings.workspace_url
    store = io.runs(workspace_url)
    try:
        old = store.get(run_id)
    finally:
        store.close()
    snap = Path(old.source_path)
    if not snap.is_dir():
        raise MlenvError(
            f"the source snapshot of run {old.id} ({snap}) is gone: submit the run again"
        )
    target_record, target = resolve_compute(old.compute, settings, workspace_url, outside=io)
    target.check()
    env = from_version(
        old.env_name, old.env_version, workspace_url, expect_hash=old.env_hash, outside=io
    )
    env = replace(env, image=old.image or env.image, lock=old.lock)
    if target_record.kind in IMAGE_KINDS:
        if rebuild:  # a new image of the same definition (its lock may differ)
            env = with_image(
                replace(env, image=""), settings, workspace_url, events, force=True, outside=io
            )
        else:
            _check_image(old, env.image, settings, io)
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
        io=io,
        rerun_of=old,
    )


def log_tail(record: RunRecord, lines: int = 20) -> str:
    """The last ``lines`` lines of the run's log ('' when it has none)."""
    path = Path(record.logs_path)
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def failure_reason(record: RunRecord) -> str | None:
    """The last exception line of a failed run's log (``ValueError: bad
    input``); None when there is none or the log is gone."""
    from pulumi_mlenv.compute.spark_output import failure_reason as last_exception

    path = Path(record.logs_path)
    if not path.is_file():
        return None
    return last_exception(path.read_text(encoding="utf-8", errors="replace"))
