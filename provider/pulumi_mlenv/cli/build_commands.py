"""``mlenv env build PATH [--force]`` and ``mlenv image details QUERY``: thin
adapters over ``service.ensure_image`` and ``service.image_details``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pulumi_mlenv.cli.env_commands import env_app
from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.config import Settings
from pulumi_mlenv.service import StepEvent

__all__ = ["image_app", "register"]

image_app = typer.Typer(name="image", help="Environment images: details by hash, ref or version.")
console = Console(highlight=False)


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
        bool,
        typer.Option("--force", help="rebuild even when an image with this hash exists"),
    ] = False,
) -> None:
    """Build (or reuse) the image of a definition, register the version in the
    workspace (as the Environment resource does), and print the image by digest."""
    from pulumi_mlenv.service.environments import provision, resolve
    from pulumi_mlenv.spec import load_definition

    with user_errors():
        settings = Settings.from_env()
        resolved = resolve(load_definition(path), settings)
        progress = _Progress()
        with progress.live:
            result = provision(resolved, settings=settings, force=force, progress=progress)
        for warning in result.warnings:
            err_console.print(f"warning: {warning}", markup=False)
        verb = "built" if result.built else f"reused from the {result.reused_from} registry"
        err_console.print(
            f"{verb} in {result.build_seconds:.1f} s; "
            f"{resolved.spec.name}:{result.version} (image hash {resolved.hash[:12]})"
        )
        console.print(result.image, markup=False, soft_wrap=True)


@image_app.command("details")
def details(
    query: Annotated[str, typer.Argument(help="a hash, an image reference, or NAME[:VERSION]")],
) -> None:
    """Show what is known about an environment image (R12)."""
    from pulumi_mlenv.service import image_details

    with user_errors():
        settings = Settings.from_env()
        info = image_details(query, settings=settings)
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
            ("lock", "\n".join(info.lock) or "-"),
        ]
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)
        if info.dockerfile:
            console.print("Dockerfile:", style="bold")
            console.print(info.dockerfile, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``mlenv image``; ``env build`` is on the env group already."""
    app.add_typer(image_app, name="image")
