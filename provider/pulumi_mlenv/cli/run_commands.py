"""``mlenv run ...`` and ``mlenv compute ...``: runs and where they run.
Thin over ``service.runs``; the workspace is ``MLENV_WORKSPACE``.

The script's output streams to stdout as it comes (to stderr with
``--json``, whose stdout is one JSON object); progress (image builds and
pulls, packing) is one line on stderr. ``submit`` and ``rerun`` exit with
the script's exit code; Ctrl-C or SIGTERM stops the run (its process,
container, Spark application or Ray job) and records it cancelled (exit 130).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, out
from pulumi_mlenv.cli.run_progress import Progress, sigterm_as_interrupt
from pulumi_mlenv.cli.run_views import as_json as run_json
from pulumi_mlenv.cli.run_views import print_runs
from pulumi_mlenv.config import Settings

__all__ = ["compute_app", "register", "run_app"]

run_app = typer.Typer(
    help=(
        "Runs: an environment, a compute target and a script, recorded in the "
        "workspace with the image digest, lock and source hash they used."
    ),
    no_args_is_help=True,
)
compute_app = typer.Typer(
    help="Compute targets: local (this host), docker (an engine), spark and ray (clusters).",
    no_args_is_help=True,
)
EXIT_CANCELLED = 130
TAIL_LINES = 20


def _execute(call: Any, as_json: bool) -> None:
    """Run ``call(events)`` with live output, then report and exit with the
    script's exit code."""
    from pulumi_mlenv.service.runs import Events, log_tail

    progress = Progress()
    stream = sys.stderr if as_json else sys.stdout

    def output(text: str) -> None:
        progress.stop()
        stream.write(text)
        stream.flush()

    events = Events(on_output=output, on_progress=progress.message, on_build=progress.build)
    try:
        with user_errors(), sigterm_as_interrupt():
            try:
                result = call(events)
            finally:
                progress.stop()
    except KeyboardInterrupt:
        err_console.print("run cancelled: stopped and recorded as cancelled", markup=False)
        raise typer.Exit(EXIT_CANCELLED) from None
    record = result.record
    if as_json:
        emit(run_json(record))
    if record.status.value == "completed":
        err_console.print(
            f"run {record.id} completed; outputs in {record.outputs_path}", markup=False
        )
    elif record.compute_kind == "spark":  # one line: Spark's tail is its Java stack
        err_console.print(spark_failure_line(record), markup=False)
    else:
        tail = log_tail(record, TAIL_LINES)
        err_console.print(
            f"run {record.id} failed with exit code {record.exit_code}; "
            f"last lines of {record.logs_path}:",
            markup=False,
        )
        if tail:
            err_console.print(tail, markup=False)
    raise typer.Exit(record.exit_code or 0)


def spark_failure_line(record: Any) -> str:
    """``run ID failed with exit code N: ValueError: bad input; full log: PATH``."""
    from pulumi_mlenv.service.runs import failure_reason

    reason = failure_reason(record)
    return (
        f"run {record.id} failed with exit code {record.exit_code}"
        + (f": {reason}" if reason else "")
        + f"; full log: {record.logs_path}"
    )


@run_app.command("submit")
def submit_command(
    script: Annotated[str, typer.Argument(help="The Python script to run.", show_default=False)],
    arguments: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments for the script, after --.", show_default=False),
    ] = None,
    env: Annotated[
        str,
        typer.Option(
            "--env",
            "-e",
            help="A definition file or folder (registered as a new version when new), "
            "or NAME[:VERSION] of a registered version.",
            show_default=False,
        ),
    ] = ...,  # type: ignore[assignment]
    compute: Annotated[
        str, typer.Option("--compute", "-c", help="local, docker, or a registered target's name.")
    ] = "local",
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Folder snapshotted by content and given to the script (default: the "
            "script's folder).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run SCRIPT in an environment on a compute target and record the run.

    The script's output streams as it comes; it reads its source folder as
    the working folder and writes results to $MLENV_OUTPUTS. Exits with the
    script's exit code.

    Examples:

        mlenv run submit train.py --env environment.yml --compute local

        mlenv run submit train.py --env train:3 --compute docker --source . -- --epochs 3

        mlenv run submit job.py --env environment.yml --compute spark-local --json

        mlenv run submit job.py --env environment.yml --compute ray-local
    """
    from pulumi_mlenv.service.runs import RunRequest, submit

    request = RunRequest(
        script=script,
        environment=env,
        compute=compute,
        arguments=tuple(arguments or ()),
        source=source,
    )
    settings = Settings.from_env()
    _execute(lambda events: submit(request, settings=settings, events=events), as_json)


@run_app.command("rerun")
def rerun_command(
    run_id: Annotated[str, typer.Argument(help="A run id (or its first characters).")],
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="The run's image is gone from its registry: build its environment "
            "version again from its definition, then run.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a recorded run again with the same image digest, lock, source
    snapshot, arguments and compute target, whatever the environment's
    latest version is.

    Example:

        mlenv run rerun 3f2a9c1e
    """
    from pulumi_mlenv.service.runs import rerun

    settings = Settings.from_env()
    _execute(
        lambda events: rerun(run_id, settings=settings, events=events, rebuild=rebuild), as_json
    )


@run_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List the latest runs, newest first.

    Example:

        mlenv run list
    """
    from pulumi_mlenv.service.run_reads import list_runs

    with user_errors():
        records = list_runs(Settings.from_env().workspace_url, limit)
    print_runs(records, as_json)


@run_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="A run id (or its first characters).")],
    as_json: JsonOpt = False,
) -> None:
    """Show everything recorded about a run: environment version, hash,
    image digest, lock, source hash, status, times, logs and outputs.

    Example:

        mlenv run show 3f2a9c1e --json
    """
    from pulumi_mlenv.service.runs import get_run

    with user_errors():
        record = get_run(run_id, Settings.from_env().workspace_url)
    if as_json:
        emit(run_json(record))
        return
    table = Table(show_header=False, box=None)
    rows = [
        ("id", record.id),
        ("status", record.status.value),
        ("exit code", "-" if record.exit_code is None else str(record.exit_code)),
        ("error", record.error or "-"),
        ("environment", f"{record.env_name}:{record.env_version}"),
        ("hash", record.env_hash),
        ("image", record.image or "-"),
        ("compute", f"{record.compute} ({record.compute_kind}"
         + (f", {record.compute_url})" if record.compute_url else ")")),
        ("script", " ".join([record.script, *record.arguments])),
        ("source hash", record.source_hash),
        ("variables", ", ".join(record.variables) or "-"),
        ("created", record.created_at),
        ("started", record.started_at or "-"),
        ("ended", record.ended_at or "-"),
        ("logs", record.logs_path),
        ("outputs", record.outputs_path),
        ("rerun of", record.rerun_of or "-"),
        ("lock", "\n".join(record.lock) or "-"),
    ]  # fmt: skip
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)


@run_app.command("logs")
def logs_command(
    run_id: Annotated[str, typer.Argument(help="A run id (or its first characters).")],
) -> None:
    """Print a run's output (what the script printed, as it was streamed).

    Example:

        mlenv run logs 3f2a9c1e | tail
    """
    from pathlib import Path

    from pulumi_mlenv.service.runs import get_run

    with user_errors():
        record = get_run(run_id, Settings.from_env().workspace_url)
    path = Path(record.logs_path)
    if not path.is_file():
        err_console.print(f"error: the log of run {record.id} is gone ({path})", markup=False)
        raise typer.Exit(1)
    sys.stdout.write(path.read_text(encoding="utf-8", errors="replace"))


@compute_app.command("list")
def compute_list_command(
    as_json: JsonOpt = False,
) -> None:
    """List the compute targets: the built-in local and docker, and those
    registered in the workspace (mlenv compute add, the ComputeTarget
    resource, make spark).

    Example:

        mlenv compute list
    """
    from pulumi_mlenv.service.runs import compute_targets

    settings = Settings.from_env()
    with user_errors():
        targets = compute_targets(settings, settings.workspace_url)
    if as_json:
        rows = [{"name": t.name, "kind": t.kind, "url": t.url} for t in targets]
        emit(rows)
        return
    table = Table(title="Compute targets", title_justify="left")
    for column in ("name", "kind", "url"):
        table.add_column(column, no_wrap=True)
    for t in targets:
        table.add_row(t.name, t.kind, t.url or "-")
    out.print(table)


@compute_app.command("add")
def compute_add_command(
    name: Annotated[str, typer.Argument(help="The target's name.")],
    kind: Annotated[str, typer.Option("--kind", help="local, docker, spark or ray.")] = "docker",
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Engine URL (docker), master URL spark://host:7077 (spark) or Jobs API URL "
            "http://head:8265 (ray).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register (or replace) a compute target in the workspace. The target
    is not contacted: a run checks it first.

    Examples:

        mlenv compute add spark-local --kind spark --url spark://127.0.0.1:7077

        mlenv compute add ray-local --kind ray --url http://127.0.0.1:8265

        mlenv compute add gpu-box --kind docker --url ssh://ml@gpu-box
    """
    from pulumi_mlenv.service.targets import add_target

    with user_errors():
        target = add_target(name, kind, url, Settings.from_env().workspace_url)
    if as_json:
        emit({"name": name, "kind": target.kind, "url": target.url})
    else:
        line(f"{name}: {target.kind} {target.url or ''}".rstrip())


@compute_app.command("remove")
def compute_remove_command(
    name: Annotated[str, typer.Argument(help="The target's name.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a registered compute target (recorded runs keep its name and URL)."""
    from pulumi_mlenv.service.targets import forget_target

    with user_errors():
        removed = forget_target(name, Settings.from_env().workspace_url)
    if not removed:
        err_console.print(f"error: no compute target {name!r} in the workspace", markup=False)
        raise typer.Exit(1)
    if as_json:
        emit({"name": name, "removed": True})
    else:
        line(f"removed compute target {name}")


def register(app: typer.Typer) -> None:
    """Add the ``run`` and ``compute`` groups to the ``mlenv`` app."""
    app.add_typer(run_app, name="run")
    app.add_typer(compute_app, name="compute")
