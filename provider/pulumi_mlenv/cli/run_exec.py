"""Running a run from the command line and reporting how it ended, without
typer: ``mlenv run submit|rerun`` use it, and so does the console script's
quick path (``cli/launch.py``), so a trivial run on the host does not wait
for the command line's imports (typer, its click core and pydantic: about a
fifth of a second) before its script starts.

``execute`` returns the exit code (the script's; 1 or 2 for our errors; 130
when interrupted); the caller exits with it. Problems and progress go to
stderr, as ``cli.main.user_errors`` prints them, the script's output to
stdout (stderr with ``--json``, whose stdout is one JSON object).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from pulumi_mlenv.cli.report import Failed, reported_errors, say
from pulumi_mlenv.cli.run_progress import Progress, sigterm_as_interrupt

__all__ = ["EXIT_CANCELLED", "execute", "spark_failure_line"]

EXIT_CANCELLED = 130
TAIL_LINES = 20


def spark_failure_line(record: Any) -> str:
    """``run ID failed with exit code N: ValueError: bad input; full log: PATH``."""
    from pulumi_mlenv.service.runs import failure_reason

    reason = failure_reason(record)
    return (
        f"run {record.id} failed with exit code {record.exit_code}"
        + (f": {reason}" if reason else "")
        + f"; full log: {record.logs_path}"
    )


def execute(call: Callable[[Any], Any], as_json: bool) -> int:
    """Run ``call(events)`` with live output, report how it ended, and
    return the exit code."""
    from pulumi_mlenv.service.run_environments import Events

    progress = Progress()
    stream = sys.stderr if as_json else sys.stdout

    def output(text: str) -> None:
        progress.stop()
        stream.write(text)
        stream.flush()

    events = Events(on_output=output, on_progress=progress.message, on_build=progress.build)
    try:
        with reported_errors(), sigterm_as_interrupt():
            try:
                result = call(events)
            finally:
                progress.stop()
    except KeyboardInterrupt:
        say("run cancelled: stopped and recorded as cancelled")
        return EXIT_CANCELLED
    except Failed as failed:
        return failed.code
    record = result.record
    if as_json:
        from pulumi_mlenv.cli.printer import emit
        from pulumi_mlenv.cli.run_views import as_json as run_json

        emit(run_json(record))
    if record.status.value == "completed":
        say(f"run {record.id} completed; outputs in {record.outputs_path}")
    elif record.compute_kind == "spark":  # one line: Spark's tail is its Java stack
        say(spark_failure_line(record))
    else:
        from pulumi_mlenv.service.runs import log_tail

        tail = log_tail(record, TAIL_LINES)
        say(
            f"run {record.id} failed with exit code {record.exit_code}; "
            f"last lines of {record.logs_path}:"
        )
        if tail:
            say(tail)
    return int(record.exit_code or 0)
