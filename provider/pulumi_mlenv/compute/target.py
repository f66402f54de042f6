"""Where scripts run (a run is environment, target and script): one small interface, several
targets.

``LocalTarget`` runs a host process; ``DockerTarget`` (``docker_target``) a
container on a Docker engine reached by URL; ``SparkTarget``
(``spark_target``) a ``spark-submit`` to a standalone cluster's master;
``RayTarget`` (``ray_target``) a job through a Ray cluster's Jobs API.
Every target takes a ``Job`` (``compute.job``), streams what the script
prints, and returns its exit code. Interrupted (``KeyboardInterrupt``: Ctrl-C,
or SIGTERM turned into one by the caller), a target stops what it started
(process group, container, Spark application) before the exception goes on.

Targets are plain frozen values (a kind and a URL): they pickle, so a Pulumi
provider may hold one; every client is made inside a call.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, RUN_ID_VARIABLE, Job, Sink
from pulumi_mlenv.compute.process import run_streaming, stop_marked
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = [
    "KINDS",
    "ComputeTarget",
    "LocalTarget",
    "parse_target",
]

KINDS = ("docker", "local", "ray", "spark")


@runtime_checkable
class ComputeTarget(Protocol):
    """A place to run a ``Job``.

    ``kind`` is one of ``KINDS``; ``url`` the engine or master address
    (``None`` for the host). ``check()`` raises ``EngineError`` with one line
    naming what was tried when the target does not answer. ``execute`` runs
    the job, streaming the script's output to ``on_output`` and progress
    lines to ``on_progress``, and returns the script's exit code.
    """

    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    def check(self) -> None: ...

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int: ...


@dataclass(frozen=True, slots=True)
class LocalTarget:
    """The host itself: the script runs as a child process with the job's
    interpreter (a virtualenv made from the definition, or a user-managed
    interpreter), in the source snapshot, with the variables added to the
    caller's environment."""

    @property
    def kind(self) -> str:
        return "local"

    @property
    def url(self) -> str | None:
        return None

    def check(self) -> None:
        """The host is always reachable."""

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int:
        """Run ``python script args`` in ``job.source``; see ``ComputeTarget``."""
        del on_progress  # nothing to fetch: the environment is on the host already
        bin_dir = os.path.dirname(job.python)
        env = {
            **os.environ,
            **dict(job.variables),
            OUTPUTS_VARIABLE: str(job.outputs),
            RUN_ID_VARIABLE: job.name,
            "PYTHONUNBUFFERED": "1",  # the script's output streams as it comes
            "PATH": os.pathsep.join(p for p in (bin_dir, os.environ.get("PATH", "")) if p),
        }
        return run_streaming(
            [job.python, job.script, *job.arguments],
            cwd=str(job.source),
            env=env,
            on_output=on_output,
            what="running on the host",
        )

    def remove_job(self, name: str) -> int:
        """Stop what the run ``name`` left running when its owner was killed
        (its script runs in a session of its own); returns how many groups."""
        return stop_marked(RUN_ID_VARIABLE, name)

    def run(self, image: str, command: list[str], env: Mapping[str, str]) -> tuple[int, str]:
        """Run ``command`` and return its exit code and combined output
        (``image`` is not used: the host has none)."""
        if not command:
            raise EngineError("running on the host: empty command")
        try:
            done = subprocess.run(
                command,
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except OSError as exc:
            raise EngineError(
                f"running {command[0]!r} on the host: {exc.strerror or exc}"
            ) from None
        return done.returncode, done.stdout.decode("utf-8", errors="replace")


def parse_target(kind: str, url: str | None) -> ComputeTarget:
    """The target for ``kind`` and ``url``.

    ``local`` takes no URL. ``docker`` takes ``unix://``, ``tcp://`` or
    ``ssh://``; no URL means the ``DOCKER_HOST`` setting. ``spark`` takes a
    master URL ``spark://host:port`` (several masters: ``spark://h1:7077,h2:7077``).
    ``ray`` takes the Jobs API (dashboard) URL ``http://head:8265``.
    Raises ``SpecError`` (an ``MlenvError``) naming the field (``kind`` or
    ``url``) and what is allowed. Nothing is contacted: call ``check()``.
    """
    from pulumi_mlenv.compute.docker_target import DockerTarget
    from pulumi_mlenv.compute.ray_target import RayTarget
    from pulumi_mlenv.compute.spark_target import SparkTarget

    name = (kind or "").strip().lower()
    if name == "local":
        if url:
            raise SpecError.at(
                "url", f"a local target runs on the host and takes no url (got {url!r})",
                "remove url, or use kind 'docker' for an engine",
            )  # fmt: skip
        return LocalTarget()
    if name == "docker":
        if not url:
            from pulumi_mlenv.config import Settings

            url = Settings.from_env().docker_host
        return DockerTarget(url)
    if name == "spark":
        if not url:
            raise SpecError.at(
                "url", "a spark target needs its master URL", "e.g. spark://127.0.0.1:7077"
            )
        return SparkTarget(url)
    if name == "ray":
        if not url:
            raise SpecError.at(
                "url", "a ray target needs its Jobs API URL", "e.g. http://127.0.0.1:8265"
            )
        return RayTarget(url)
    raise SpecError.at(
        "kind",
        f"unknown compute target kind {kind!r}",
        f"use one of: {', '.join(KINDS)}",
    )
