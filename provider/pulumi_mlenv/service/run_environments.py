"""What a run needs of its environment, and the job a target runs.

Every door (a definition file, ``NAME[:VERSION]``, a rerun, the ``Run``
resource, a deployment) resolves one ``RunEnvironment`` once: the version,
its hash, image by digest, lock, definition and the variables with their
values (secret ones read from the process environment, definition/
variables.py). Every target takes that value through ``plan_job``: a new
target gets the same packages, variables, digest and lock for free.

``prepare_environment``: a definition file or folder is registered exactly
as the ``Environment`` resource would register it (on first use); its image
is ensured only when the target runs images (``needs_image``): a run on the
host needs only the virtualenv keyed by hash, never BuildKit or the
registry. ``NAME[:VERSION]`` reads a registered version. ``plan_job``: what
the target needs: the image by digest (``docker``), the virtualenv
(``local``, made once per hash), that virtualenv packed once per hash with
the definition's Spark packages (``spark``), or run through
``py_executable`` with the cluster's Ray beside it (``ray``, see
``service.ray_environment``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.compute import ComputeTarget, Job, Sink
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec
from pulumi_mlenv.definition.variables import resolved as resolved_variables
from pulumi_mlenv.errors import RUN_HEADING, MlenvError, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

if TYPE_CHECKING:
    from pulumi_mlenv.compute.ray_target import RayTarget
    from pulumi_mlenv.service.environments import Provisioned
    from pulumi_mlenv.service.resolved import ResolvedEnvironment

__all__ = [
    "IMAGE_KINDS",
    "Events",
    "Plan",
    "Prepared",
    "RunEnvironment",
    "check_host_interpreter",
    "from_version",
    "plan_job",
    "prepare_environment",
    "run_variables",
    "with_image",
]

#: Target kinds that run the environment's image (the others run on a host).
IMAGE_KINDS = frozenset({"docker"})


def _ignore(_text: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Events:
    """Where a run's output and progress go (the CLI prints them; the
    Pulumi provider keeps them in the run's log only)."""

    on_output: Sink = _ignore
    on_progress: Sink = _ignore
    on_build: Callable[[Any], None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnvironment:
    """The environment as every target runs it: the version, its hash,
    image by digest (empty while only host runs used it) and lock, the
    definition, and the variables with their values (resolved once)."""

    name: str
    version: str
    env_hash: str
    image: str
    lock: tuple[str, ...]
    spec: EnvironmentSpec
    variables: tuple[tuple[str, str], ...]
    built: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


#: The name this value had first; kept for callers.
Prepared = RunEnvironment


def run_variables(variables: Iterable[tuple[str, str]], label: str) -> tuple[tuple[str, str], ...]:
    """The values a run sets, secret references read from this process's
    environment; raises ``MlenvError`` naming a variable that cannot be."""
    return resolved_variables(variables, os.environ, label)


Pairs = tuple[tuple[str, str], ...]


def _or(given: Pairs | None, kept: Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    return kept if given is None else given


def _provision(
    resolved: ResolvedEnvironment,
    label: str,
    settings: Settings,
    workspace_url: str,
    events: Events,
    io: Outside,
    *,
    force: bool = False,
) -> Provisioned:
    """The image (reused or built) and version of ``resolved``, for a run:
    says so first, and the build's steps go to the run's events."""
    from pulumi_mlenv.service import environments as envs

    events.on_progress(f"environment {label}: hash {resolved.hash[:12]}, ensuring its image")
    if not force:
        # Registered and built already: one read and one registry lookup, and
        # the workspace's full store (SQLAlchemy, 0.3 s to load) stays closed.
        reused = envs.reuse_registered(
            resolved, settings=settings, workspace_url=workspace_url, outside=io
        )
        if reused is not None:
            return reused
    return envs.provision(
        resolved,
        settings=settings,
        workspace_url=workspace_url,
        progress=events.on_build,
        force=force,
        outside=io,
    )


def _from_definition(
    path: str,
    settings: Settings,
    workspace_url: str,
    events: Events,
    needs_image: bool,
    io: Outside,
    given: Pairs | None = None,
) -> RunEnvironment:
    from pulumi_mlenv.service import environments as envs

    spec = envs.definition_from_inputs({"source": str(Path(path).resolve())})
    label = spec.name
    if not needs_image:  # the hash of the resolved definition is all a host run needs
        from pulumi_mlenv.definition import compute_hash
        from pulumi_mlenv.service.resolved import with_base_resolved

        spec = with_base_resolved(spec, settings, outside=io)
        env_hash = compute_hash(spec)
        version, image, lock = envs.register_for_host(
            spec, env_hash, settings=settings, workspace_url=workspace_url, outside=io
        )
        return RunEnvironment(
            name=spec.name,
            version=version,
            env_hash=env_hash,
            image=image,
            lock=lock,
            spec=spec,
            variables=run_variables(_or(given, spec.environment_variables), f"{label}:{version}"),
        )
    resolved = envs.resolve(spec, settings, outside=io)
    provisioned = _provision(resolved, spec.name, settings, workspace_url, events, io)
    return RunEnvironment(
        name=resolved.spec.name,
        version=provisioned.version,
        env_hash=resolved.hash,
        image=provisioned.image,
        lock=provisioned.lock,
        spec=resolved.spec,
        variables=run_variables(
            _or(given, resolved.spec.environment_variables), f"{label}:{provisioned.version}"
        ),
        built=provisioned.built,
    )


def from_version(
    name: str,
    version: str | None,
    workspace_url: str,
    expect_hash: str | None = None,
    *,
    given: Pairs | None = None,
    outside: Outside | None = None,
) -> RunEnvironment:
    """The registered version ``name:version`` (latest when None) as a run
    takes it; ``given``: the variables' values when the caller has them
    (else the version's, secret references read from this process)."""
    from pulumi_mlenv.definition import parse_definition, with_resolved_base

    with outside_or_real(outside).workspace(workspace_url) as workspace:
        record = workspace.get_version(name, version)
        if record is None:
            label = f"{name}:{version}" if version else name
            raise SpecError.at(
                "environment",
                f"no definition file {label!r} and no environment {label} in the workspace",
                "give a definition file, or NAME[:VERSION] of a registered version "
                "(mlenv env versions lists them)",
                heading=RUN_HEADING,
            )
        digest = record.image.rsplit("@", 1)[-1] if "@" in record.image else ""
        image = workspace.find_image_by_digest(digest) if digest else None
        if image is None:
            image = workspace.find_image(record.env_hash)
    metadata = {
        "name": record.name,
        "version": record.version,
        "environment_variables": dict(record.environment_variables),
    }
    base_digest = image.base_digest if image else None
    spec = with_resolved_base(parse_definition({**record.definition, **metadata}), base_digest)
    if expect_hash is not None and record.env_hash != expect_hash:
        raise MlenvError(
            f"environment {record.label} maps to hash {record.env_hash[:12]} in the "
            f"workspace, not {expect_hash[:12]}: is it registered in another workspace?"
        )
    return RunEnvironment(
        name=record.name,
        version=record.version,
        env_hash=record.env_hash,
        image=record.image,
        lock=tuple(image.lock) if image else (),
        spec=spec,
        variables=run_variables(_or(given, record.environment_variables), record.label),
    )


def with_image(
    env: RunEnvironment,
    settings: Settings,
    workspace_url: str,
    events: Events,
    *,
    force: bool = False,
    outside: Outside | None = None,
) -> RunEnvironment:
    """``env`` with an image by digest: a version registered by host runs
    only gets its image now (reused by hash, or built), at the same hash;
    ``force`` builds it again (an image deleted from its registry)."""
    if "@" in env.image and not force:
        return env
    from pulumi_mlenv.service import environments as envs

    io = outside_or_real(outside)
    resolved = envs.resolve(env.spec, settings, outside=io)
    if resolved.hash != env.env_hash:
        raise MlenvError(
            f"environment {env.label}: its definition now hashes to {resolved.hash[:12]}, "
            f"not {env.env_hash[:12]}: submit it from its definition file"
        )
    provisioned = _provision(resolved, env.label, settings, workspace_url, events, io, force=force)
    return replace(env, image=provisioned.image, lock=provisioned.lock, built=provisioned.built)


def prepare_environment(
    reference: str,
    settings: Settings,
    workspace_url: str,
    events: Events,
    expect_hash: str | None = None,
    *,
    needs_image: bool = True,
    given: Pairs | None = None,
    outside: Outside | None = None,
) -> RunEnvironment:
    """A definition file or folder (registered now, on first use), else
    ``NAME[:VERSION]``; with its image ensured when ``needs_image``.
    ``given``: the variables' values when the caller has them (the ``Run``
    resource's secret input), used instead of the version's."""
    io = outside_or_real(outside)
    if Path(reference).expanduser().exists():
        env = _from_definition(
            str(Path(reference).expanduser()), settings, workspace_url, events, needs_image, io,
            given,
        )  # fmt: skip
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
            heading=RUN_HEADING,
        )  # fmt: skip
    env = from_version(name, version or None, workspace_url, expect_hash, given=given, outside=io)
    return with_image(env, settings, workspace_url, events, outside=io) if needs_image else env


# -- the job -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """The job, the lock it runs with, whether Spark's archive was packed
    now, and what the target recorded beside the lock (``details``)."""

    job: Job
    lock: tuple[str, ...]
    packed: bool | None
    pack_seconds: float
    details: dict[str, Any] = field(default_factory=dict)


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


def host_python(
    env: RunEnvironment, settings: Settings, events: Events, *, outside: Outside | None = None
) -> tuple[str, tuple[str, ...]]:
    """The host interpreter of ``env`` and the lock it has: a user-managed
    interpreter as given, else the virtualenv keyed by hash (made once)."""
    from pulumi_mlenv.service.images import materialize_local

    spec = env.spec
    if spec.python.user_managed:
        return check_host_interpreter(spec), env.lock
    venv = Path(settings.cache_dir).expanduser() / "venvs" / env.env_hash
    if not (venv / ".mlenv-complete").exists():
        events.on_progress(f"making the virtualenv of {env.name}:{env.version} (once per hash)")
    venv = materialize_local(spec, settings, outside=outside)
    lock_file = venv / "lock.txt"
    lock = tuple(lock_file.read_text().split()) if lock_file.exists() else env.lock
    return str(venv / "bin" / "python"), lock


def _image_lock(
    target: ComputeTarget, job: Job, settings: Settings, events: Events
) -> tuple[str, ...]:
    """The lock inside an image this workspace did not build (read once per
    digest: a digest names one content, so the answer is cached)."""
    from pulumi_mlenv.imaging.dockerfile import LOCK_PATH
    from pulumi_mlenv.imaging.lock import parse_lock

    assert job.image is not None
    digest = job.image.rsplit("@", 1)[-1].replace(":", "-")
    cached = Path(settings.cache_dir).expanduser() / "image-locks" / f"{digest}.txt"
    if cached.is_file():
        return parse_lock(cached.read_text())
    reader = getattr(target, "image_file", None)
    if reader is None:
        return ()
    text = reader(job.image, LOCK_PATH, job.registry_login, events.on_progress) or ""
    if "@sha256:" in job.image:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text)
        os.replace(partial, cached)
    return parse_lock(text)


def _ray_target() -> type[RayTarget]:
    # Imported only for a Ray target: a host run does not load it.
    from pulumi_mlenv.compute.ray_target import RayTarget

    return RayTarget


def plan_job(
    kind: str,
    target: ComputeTarget,
    env: RunEnvironment,
    base: Job,
    settings: Settings,
    events: Events,
    *,
    outside: Outside | None = None,
) -> Plan:
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
        if not lock:  # an engine that can read the image's lock file gives it
            lock = _image_lock(target, job, settings, events)
        return Plan(job, lock, None, 0.0)
    python, lock = host_python(env, settings, events, outside=outside)
    if kind == "ray" and isinstance(target, _ray_target()):
        from pulumi_mlenv.service.ray_environment import ray_job

        job, details = ray_job(
            target, base, python, lock,
            label=f"{env.name}:{env.version}", user_managed=env.spec.python.user_managed,
            settings=settings, on_progress=events.on_progress, outside=outside,
        )  # fmt: skip
        return Plan(job, lock, None, 0.0, details)
    if kind != "spark":
        return Plan(replace(base, python=python), lock, None, 0.0)
    spark = env.spec.spark
    job = replace(
        base,
        python=python,
        spark_packages=tuple(str(p) for p in spark.packages),
        spark_repositories=spark.repositories,
    )
    if env.spec.python.user_managed:
        return Plan(replace(job, executor_python=python), lock, None, 0.0)
    from pulumi_mlenv.imaging.pack import archive_path, pack_environment

    started = time.monotonic()
    if not archive_path(settings.cache_dir, env.env_hash).exists():
        events.on_progress("packing the environment for Spark executors (once per hash)")
    archive, packed = pack_environment(Path(python).parent.parent, settings.cache_dir, env.env_hash)
    seconds = time.monotonic() - started
    if packed:
        events.on_progress(f"packed {archive.name} in {seconds:.1f} s")
    return Plan(replace(job, archive=archive), lock, packed, seconds if packed else 0.0)
