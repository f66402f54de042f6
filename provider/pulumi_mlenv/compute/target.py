"""Where scripts run (R3): one small interface, several targets.

``LocalTarget`` runs a host process; ``DockerTarget`` (in ``docker_target``)
runs a container on a Docker engine reached by URL. Runs proper come in a
later issue; ``run`` here is the smallest useful form: a command, its
environment variables, and back the exit code and the combined output.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pulumi_mlenv.errors import EngineError, SpecError

__all__ = ["KINDS", "ComputeTarget", "LocalTarget", "parse_target"]

KINDS = ("docker", "local")


@runtime_checkable
class ComputeTarget(Protocol):
    """A place to run a command in an environment's image.

    ``kind`` is one of ``KINDS``; ``url`` the engine address (``None`` for
    the host). ``check()`` raises ``EngineError`` with one line naming what
    was tried when the target cannot be reached. ``run`` returns
    ``(exit code, stdout and stderr interleaved)``.
    """

    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    def check(self) -> None: ...

    def run(self, image: str, command: list[str], env: Mapping[str, str]) -> tuple[int, str]: ...


@dataclass(frozen=True, slots=True)
class LocalTarget:
    """The host itself: commands run as child processes of the caller.

    The host has no images: ``image`` is not used (give the interpreter of a
    materialised environment in ``command``). ``env`` is added to the
    caller's environment.
    """

    @property
    def kind(self) -> str:
        return "local"

    @property
    def url(self) -> str | None:
        return None

    def check(self) -> None:
        """The host is always reachable."""

    def run(self, image: str, command: list[str], env: Mapping[str, str]) -> tuple[int, str]:
        """Run ``command`` and return its exit code and combined output."""
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
    ``ssh://``; no URL means the ``DOCKER_HOST`` setting. Raises ``SpecError``
    (an ``MlenvError``) naming the field (``kind`` or ``url``) and what is
    allowed. Nothing is contacted: call ``check()`` for that.
    """
    from pulumi_mlenv.compute.docker_target import DockerTarget

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
    raise SpecError.at(
        "kind",
        f"unknown compute target kind {kind!r}",
        f"use one of: {', '.join(KINDS)}",
    )
