"""``mlenv env build PATH [--force]`` and ``mlenv image details QUERY``: thin
adapters over ``service.ensure_image`` and ``service.image_details``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from pulumi_mlenv.cli.env_commands import RootOpt, env_app
from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, out
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError

if TYPE_CHECKING:
    from pulumi_mlenv.service import StepEvent
    from pulumi_mlenv.service.environments import Provisioned
    from pulumi_mlenv.service.image_facts import ImageDetails
    from pulumi_mlenv.service.resolved import ResolvedEnvironment

__all__ = ["image_app", "register"]

image_app = typer.Typer(name="image", help="Environment images: details by hash, ref or version.")


class _Progress:
    """Build steps on stderr: a live table on a terminal; elsewhere (a log
    file, CI, a pipe) one plain line per finished step, never redrawn."""

    def __init__(self, live: bool | None = None) -> None:
        self.started = time.monotonic()
        self.steps: dict[int, tuple[str, str, float | None]] = {}
        self.is_live = err_console.is_terminal if live is None else live
        self.live = Live(self._table(), console=err_console, refresh_per_second=4)

    def __enter__(self) -> _Progress:
        if self.is_live:
            self.live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.is_live:
            self.live.stop()

    def __call__(self, event: StepEvent) -> None:
        previous = self.steps.get(event.number)
        self.steps[event.number] = (event.name, event.status, event.seconds)
        if self.is_live:
            self.live.update(self._table())
        elif event.status != "started" and (previous is None or previous[1] != event.status):
            err_console.print(step_line(event), markup=False)

    def _table(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(title=f"building ({elapsed:.1f} s)", show_edge=False, box=None)
        table.add_column("step")
        table.add_column("state")
        table.add_column("s", justify="right")
        for name, status, seconds in list(self.steps.values())[-12:]:
            table.add_row(name[:90], status, f"{seconds:.1f}" if seconds is not None else "")
        return table


def step_line(event: StepEvent) -> str:
    """``done  2.1 s  [mlenv-deps 3/5] RUN uv pip install ...``: a finished step, one line."""
    seconds = f"{event.seconds:5.1f} s" if event.seconds is not None else "      -"
    return f"{event.status:<6} {seconds}  {event.name}"


@env_app.command("build")
def build(
    path: Annotated[Path, typer.Argument(help="definition file or folder (any format)")],
    force: Annotated[
        bool,
        typer.Option("--force", help="rebuild even when an image with this hash exists"),
    ] = False,
    as_json: JsonOpt = False,
    root: RootOpt = None,
) -> None:
    """Build (or reuse) the image of a definition, register the version in the
    workspace (as the Environment resource does), and print the image by digest.

    Progress goes to stderr; stdout gets the image reference alone (or, with
    --json, one JSON object), never wrapped.

    Examples:

        mlenv env build environment.yml

        docker pull "$(mlenv env build environment.yml)"

        mlenv env build --json requirements.txt | jq -r .version
    """
    from pulumi_mlenv.definition import load_definition
    from pulumi_mlenv.service.environments import provision, resolve

    with user_errors():
        settings = Settings.from_env()
        resolved = resolve(load_definition(path, root=root), settings)
        progress = _Progress()
        try:
            with progress:
                result = provision(resolved, settings=settings, force=force, progress=progress)
        except MlenvError:
            err_console.line()  # the error on a line of its own, under the table
            raise
        for warning in result.warnings:
            err_console.print(f"warning: {warning}", markup=False)
        verb = "built" if result.built else f"reused from the {result.reused_from} registry"
        err_console.print(
            f"{verb} in {result.build_seconds:.1f} s; "
            f"{resolved.spec.name}:{result.version} (image hash {resolved.hash[:12]})"
        )
        if as_json:
            emit(_built_json(result, resolved))
        else:
            line(result.image)


def _built_json(result: Provisioned, resolved: ResolvedEnvironment) -> dict[str, Any]:
    """``env build --json``: the image and what the workspace recorded of it."""
    return {
        "image": result.image,
        "name": resolved.spec.name,
        "version": result.version,
        "hash": resolved.hash,
        "definition_hash": resolved.definition_hash,
        "built": result.built,
        "reused_from": result.reused_from,
        "seconds": round(result.build_seconds, 3),
        "lock": list(result.lock),
        "warnings": list(result.warnings),
    }


@image_app.command("details")
def details(
    query: Annotated[
        str,
        typer.Argument(
            help="an image hash or definition hash (mlenv env hash), an image reference, "
            "or NAME[:VERSION]"
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Show what is known about an environment image: where it is, its hash,
    size, base image, the versions that use it, its lock and Dockerfile.

    Examples:

        mlenv image details train:3

        mlenv image details "$(mlenv env hash --resolve environment.yml | tail -1)"

        mlenv image details --json 127.0.0.1:5000/mlenv/env@sha256:... | jq .lock
    """
    from pulumi_mlenv.service import image_details

    with user_errors():
        settings = Settings.from_env()
        info = image_details(query, settings=settings)
        created = shown_date(info.created, info.recorded_at)
        if as_json:
            emit(
                {
                    "image": info.image,
                    "registry": info.registry,
                    "repository": info.repository,
                    "digest": info.digest,
                    "hash": info.env_hash,
                    "size": info.size,
                    "created": created,
                    "base_image": info.base_image,
                    "base_digest": info.base_digest,
                    "versions": list(info.versions),
                    "lock": list(info.lock),
                    "dockerfile": info.dockerfile,
                }
            )
        else:
            _print_details(info, created)


def _print_details(info: ImageDetails, created: str) -> None:
    """``image details`` as a two-column table, then the Dockerfile whole."""
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, overflow="ignore")
    rows = [
        ("image", info.image),
        ("registry", info.registry),
        ("repository", info.repository),
        ("digest", info.digest),
        ("image hash", info.env_hash or "-"),
        ("size", f"{info.size / 1e6:.1f} MB" if info.size else "-"),
        ("created", created),
        ("base image", info.base_image or "-"),
        ("base digest", info.base_digest or "-"),
        ("versions", ", ".join(info.versions) or "-"),
        ("verified", _verified(info.verification)),
        ("lock", "\n".join(info.lock) or "-"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    if info.dockerfile:
        line("Dockerfile:")
        line(info.dockerfile)


def shown_date(created: str | None, recorded_at: str | None = None) -> str:
    """A creation date as people read it. Reproducible builds fix every
    timestamp to the epoch (SOURCE_DATE_EPOCH=0): show when the workspace
    recorded the build instead of 1970-01-01 ("56 years ago")."""
    if not created:
        return recorded_at or "-"
    if created.startswith("1970-01-01T00:00:00"):
        if recorded_at:
            return f"{recorded_at} (built; the image's own date is fixed by the reproducible build)"
        return "not recorded (the image's own date is fixed by the reproducible build)"
    return created


def _verified(record: Any) -> str:
    """``yes, <when> on <builder>`` / ``NO, <when>: <where>`` / ``never``."""
    if record is None:
        return "never (mlenv image verify rebuilds it and compares)"
    if record.identical:
        return f"yes, {record.verified_at} on {record.builder}: identical rebuild"
    return f"NO, {record.verified_at} on {record.builder}: {record.summary}"


def register(app: typer.Typer) -> None:
    """Add ``mlenv image``; ``env build`` is on the env group already."""
    app.add_typer(image_app, name="image")
