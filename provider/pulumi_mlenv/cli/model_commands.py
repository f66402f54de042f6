"""``mlenv model register|list|show``: models registered in the workspace
(``MLENV_WORKSPACE``), with the exact environment each came from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, out
from pulumi_mlenv.config import Settings

__all__ = ["model_app", "register"]

model_app = typer.Typer(
    help=(
        "Models: files or folders registered as versioned artifacts with a content hash.\n\n"
        "The same content under the same name keeps its version. A model knows the "
        "environment it was trained in (name, version, image digest, lock)."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``model`` group to the ``mlenv`` app."""
    app.add_typer(model_app, name="model")


def _as_dict(m: Any) -> dict[str, Any]:
    lineage = m.lineage
    return {
        "name": m.name,
        "version": m.version,
        "content_hash": m.content_hash,
        "uri": m.uri,
        "source_path": m.source_path,
        "size": m.size,
        "files": list(m.files),
        "description": m.description,
        "created_at": m.created_at,
        "lineage": {
            "run_id": lineage.run_id,
            "environment": {
                "name": lineage.env_name,
                "version": lineage.env_version,
                "hash": lineage.env_hash,
                "image": lineage.env_image,
                "digest": lineage.env_digest,
                "lock": list(lineage.env_lock),
            },
        },
    }


#: The model's file or folder.
_ModelPath = Annotated[
    Path,
    typer.Argument(
        help="The model's file or folder (with --run: inside the run's outputs).",
        show_default=False,
    ),
]
#: The environment a model was trained in, when no run says it.
_TrainedIn = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "-e",
        help="NAME[:VERSION] of the environment it was trained in (recorded as lineage).",
    ),
]
#: The run whose outputs hold the model.
_FromRun = Annotated[
    str | None,
    typer.Option(
        "--run",
        "-r",
        help="A run id: PATH is inside its outputs, and the model records the run, "
        "its environment version, image digest and lock.",
    ),
]


@model_app.command("register")
def register_command(
    name: Annotated[str, typer.Argument(help="Model name.", show_default=False)],
    path: _ModelPath,
    environment: _TrainedIn = None,
    run: _FromRun = None,
    description: Annotated[str | None, typer.Option(help="A short description.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register PATH as model NAME; prints NAME:VERSION.

    Examples:

        mlenv model register iris model.pkl --run 3f2a9c1e

        mlenv model register iris outputs/model.pkl --environment sklearn:1
    """
    from pulumi_mlenv.service import models

    settings = Settings.from_env()
    if run and environment:
        err_console.print(
            "error: --run and --environment: give one (a run records its environment)",
            markup=False,
        )
        raise typer.Exit(2)
    with user_errors():
        if run:
            done = models.register_from_run_id(
                name, run, str(path), settings=settings,
                workspace_url=settings.workspace_url, description=description,
            )  # fmt: skip
            _print_registered(done, as_json)
            return
        lineage = None
        if environment:
            env_name, _, env_version = environment.partition(":")
            lineage = models.lineage_of_environment(
                env_name, env_version or None, workspace_url=settings.workspace_url
            )
        done = models.register_model(
            name,
            path,
            settings=settings,
            workspace_url=settings.workspace_url,
            lineage=lineage,
            description=description,
        )
    _print_registered(done, as_json)


def _print_registered(done: Any, as_json: bool) -> None:
    if not done.new:
        err_console.print(f"same content as {done.model.label}: version kept")
    if as_json:
        emit(_as_dict(done.model))
    else:
        line(done.model.label)


@model_app.command("list")
def list_command(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered model versions with their content hash and environment."""
    from pulumi_mlenv.service import models

    with user_errors():
        records = models.list_models(name, workspace_url=Settings.from_env().workspace_url)
    if as_json:
        emit([_as_dict(m) for m in records])
        return
    table = Table(title="Models")
    for column in ("name", "version", "content", "size", "environment", "registered"):
        table.add_column(column, no_wrap=True)
    for m in records:
        env = f"{m.lineage.env_name}:{m.lineage.env_version}" if m.lineage.env_name else "-"
        table.add_row(m.name, m.version, m.content_hash[7:19], str(m.size), env, m.created_at[:16])
    out.print(table)
    if not records:
        out.print("no models registered" + (f" named {name}" if name else ""))


def _run_line(run_id: str | None) -> str:
    """The run a model came from, as recorded (its script, target and end)."""
    from pulumi_mlenv.errors import MlenvError
    from pulumi_mlenv.service.runs import get_run

    if not run_id:
        return "(none recorded)"
    try:
        run = get_run(run_id, Settings.from_env().workspace_url)
    except MlenvError:
        return f"{run_id} (no longer in this workspace)"
    return f"{run.id}: {run.script} on {run.compute}, {run.status.value} at {run.ended_at or '-'}"


@model_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="NAME[:VERSION] (latest when no version).")],
    as_json: JsonOpt = False,
) -> None:
    """Show a model version and the exact environment it came from: name,
    version, image digest and lock (when known)."""
    from pulumi_mlenv.service import models

    with user_errors():
        m = models.find_model(ref, workspace_url=Settings.from_env().workspace_url)
    if as_json:
        emit(_as_dict(m))
        return
    lineage = m.lineage
    lines = [
        f"model:        {m.label}",
        f"content hash: {m.content_hash}",
        f"files:        {', '.join(m.files)} ({m.size} bytes)",
        f"stored at:    {m.uri}",
        f"registered:   {m.created_at}",
        f"run:          {_run_line(lineage.run_id)}",
    ]
    if lineage.env_name:
        lines += [
            f"environment:  {lineage.env_name}:{lineage.env_version}",
            f"env hash:     {lineage.env_hash}",
            f"image:        {lineage.env_image}",
            f"digest:       {lineage.env_digest}",
            "lock:" + ("" if lineage.env_lock else "         (none recorded)"),
            *(f"  {pin}" for pin in lineage.env_lock),
        ]
    else:
        lines.append("environment:  (not recorded: register with --environment NAME:VERSION)")
    for text in lines:
        line(text)
