"""``mlenv env build PATH [--force]`` and ``mlenv image details QUERY``: thin
adapters over ``service.ensure_image`` and ``service.image_details``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pulumi_mlenv.cli.env_commands import env_app
from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.config import Settings
from pulumi_mlenv.imaging.buildkit import StepEvent

__all__ = ["image_app", "register"]

image_app = typer.Typer(name="image", help="Environment images: details by hash, ref or version.")
console = Console(highlight=False)


def _workspace(settings: Settings) -> Any:
    """The workspace store named by the settings (``MLENV_WORKSPACE``)."""
    from pulumi_mlenv.workspace import Workspace

    return Workspace(settings.workspace_url)


class _Progress:
    """A live table of build steps with their state and elapsed seconds."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: dict[int, tuple[str, str, float | None]] = {}
        self.live = Live(self._table(), console=err_console, refresh_per_second=4)

    def __call__(self, event: StepEvent) -> None:
        self.steps[event.number] = (event.name, event.status, event.seconds)
        self.live.update(self._table())

    def _table(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(title=f"building ({elapsed:.1f} s)", show_edge=False, box=None)
        table.add_column("step")
        table.add_column("state")
        table.add_column("s", justify="right")
        for name, status, seconds in list(self.steps.values())[-12:]:
            table.add_row(name[:90], status, f"{seconds:.1f}" if seconds is not None else "")
        return table


@env_app.command("build")
def build(
    path: Annotated[Path, typer.Argument(help="definition file or folder (any format)")],
    force: Annotated[
        bool, typer.Option("--force", help="rebuild even when the hash's image exists (R18)")
    ] = False,
) -> None:
    """Build (or reuse) the image of a definition and print it by digest."""
    from pulumi_mlenv.service import ensure_image
    from pulumi_mlenv.spec import load_definition

    with user_errors():
        spec = load_definition(path)
        settings = Settings.from_env()
        progress = _Progress()
        with progress.live:
            result = ensure_image(
                spec,
                settings=settings,
                workspace=_workspace(settings),
                force=force,
                progress=progress,
            )
        for warning in result.warnings:
            err_console.print(f"warning: {warning}", markup=False)
        verb = "built" if result.built else f"reused from the {result.source} registry"
        err_console.print(f"{verb} in {result.seconds:.1f} s (hash {result.env_hash[:12]})")
        if result.forced:
            err_console.print(f"previous digest (still pullable): {result.previous_digest}")
            for line in result.shared_versions:
                err_console.print(f"  shares this hash: {line}", markup=False)
            for line in result.lock_changes:
                err_console.print(f"  lock: {line}", markup=False)
        console.print(result.image, markup=False)


@image_app.command("details")
def details(
    query: Annotated[str, typer.Argument(help="a hash, an image reference, or NAME[:VERSION]")],
) -> None:
    """Show what is known about an environment image (R12)."""
    from pulumi_mlenv.service import image_details

    with user_errors():
        settings = Settings.from_env()
        info = image_details(query, settings=settings, workspace=_workspace(settings))
        table = Table(show_header=False, box=None)
        rows = [
            ("image", info.image),
            ("registry", info.registry),
            ("repository", info.repository),
            ("digest", info.digest),
            ("hash", info.env_hash or "-"),
            ("size", f"{info.size / 1e6:.1f} MB" if info.size else "-"),
            ("created", info.created or "-"),
            ("base image", info.base_image or "-"),
            ("base digest", info.base_digest or "-"),
            ("versions", ", ".join(info.versions) or "-"),
            ("verified", _verified(info.verification)),
            ("lock", "\n".join(info.lock) or "-"),
        ]
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)
        if info.dockerfile:
            console.print("Dockerfile:", style="bold")
            console.print(info.dockerfile, markup=False)


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
