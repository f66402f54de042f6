"""The messages a new user met in their first hour, each read as they see
it: what went wrong in their words, never a misleading heading, a
``{<nil>}``, ``X to X``, ``1 layers, 0.0/0.0 MB`` or Spark's chatter."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app, user_errors
from pulumi_mlenv.errors import BuildError, MlenvError, SpecError

runner = CliRunner()


def _shown(err: Exception, capsys: pytest.CaptureFixture[str]) -> str:
    """What the CLI prints on stderr for ``err``."""
    with pytest.raises(typer.Exit), user_errors():
        raise err
    return capsys.readouterr().err


def test_a_missing_script_says_the_run_cannot_start(tmp_path: Path) -> None:
    (tmp_path / "mlenv.yml").write_text(
        "name: x\npython:\n  conda:\n    dependencies: [python=3.11]\n"
    )
    result = runner.invoke(
        app, ["run", "submit", str(tmp_path / "nope.py"), "--env", str(tmp_path / "mlenv.yml")]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: cannot start the run (1 problem):",
        f"  script: script '{tmp_path / 'nope.py'}' not found; give the path of a Python file",
    ]


def test_conda_packages_without_micromamba_blame_the_base_image(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pulumi_mlenv.definition import parse_definition
    from pulumi_mlenv.imaging import builder
    from pulumi_mlenv.imaging.conda import missing_tool_message

    spec = parse_definition(
        {"name": "c", "python": {"conda": {"dependencies": ["python=3.11", "zlib"]}}}
    )

    def probe_fails(*_args: object, **_kw: object) -> None:
        raise BuildError("step 2 failed", log_tail="#7 0.2 " + missing_tool_message(spec))

    monkeypatch.setattr(builder, "run_buildctl", probe_fails)
    with pytest.raises(SpecError) as info:
        builder._run(None, Path("meta.json"), None, [], conda=True)  # type: ignore[arg-type]
    assert _shown(info.value, capsys).splitlines() == [
        "error: cannot build on this base image (1 problem):",
        "  python.conda.dependencies: mlenv: conda packages zlib need conda or micromamba in the"
        " base image (none found on PATH); use a base image with micromamba, or move them to"
        " the pip list",
    ]


def test_a_bad_definition_is_still_an_invalid_definition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = _shown(SpecError.at("python.conda", "not a mapping"), capsys)
    assert shown.splitlines()[0] == "error: invalid definition (1 problem):"


def test_a_forced_rebuild_that_gives_the_same_digest_says_nothing_moved() -> None:
    from pulumi_mlenv.service.environments import forced_rebuild_message
    from pulumi_mlenv.service.images import EnsureResult

    same = EnsureResult(
        env_hash="ab" * 32, image="r/mlenv/env@sha256:1", registry="r", repository="mlenv/env",
        digest="sha256:1", size=1, built=True, reused_from=None, seconds=1.0, lock=(),
        forced=True, previous_digest="sha256:1", shared_versions=("train:1",),
    )  # fmt: skip
    assert forced_rebuild_message("ab" * 32, same) == (
        "forced rebuild: abababababab rebuilt from scratch gave the same digest sha256:1"
        " (a reproducible build); its tag did not move; versions sharing this hash: train:1;"
        " package changes: none"
    )
    from dataclasses import replace

    moved = replace(same, digest="sha256:2", lock_changes=("six 1.16.0 -> 1.17.0",))
    assert forced_rebuild_message("ab" * 32, moved).startswith(
        "forced rebuild: tag abababababab moved from sha256:1 (still pullable by digest) to"
        " sha256:2;"
    )


def test_pull_progress_counts_every_layer_and_says_sizes_in_units_that_show() -> None:
    from pulumi_mlenv.compute.pull_progress import PullProgress

    pull = PullProgress()
    for event in (
        {"status": "Pulling from mlenv/env", "id": "sha256:abc"},
        {"status": "Pulling fs layer", "id": "a1"},
        {"status": "Pulling fs layer", "id": "b2"},
        {"status": "Waiting", "id": "c3"},
        {"status": "Downloading", "id": "a1", "progressDetail": {"current": 300, "total": 900}},
    ):
        pull.add(event)
    assert pull.line() == "0/3 layers, 300 B of 900 B"
    pull.add({"status": "Pull complete", "id": "a1"})
    pull.add(
        {
            "status": "Downloading",
            "id": "b2",
            "progressDetail": {"current": 2_500_000, "total": 40_000_000},
        }
    )
    assert pull.line() == "1/3 layers, 2.5 MB of 40.0 MB"
    # The registry stops answering: the engine's retries are said in words,
    # and the line goes back to plain progress once bytes flow again.
    pull.add({"status": "Retrying in 5 seconds", "id": "b2"})
    pull.add({"status": "Retrying in 4 seconds", "id": "b2"})  # a countdown: the same line
    assert pull.line() == (
        "1/3 layers, 2.5 MB of 40.0 MB; the registry stopped answering,"
        " the engine tries again in 5 s"
    )
    pull.add(
        {
            "status": "Downloading",
            "id": "b2",
            "progressDetail": {"current": 2_600_000, "total": 40_000_000},
        }
    )
    assert pull.line() == "1/3 layers, 2.6 MB of 40.0 MB"
    assert pull.received() == "2.6 MB of 40.0 MB"
    single = PullProgress()
    single.add({"status": "Pulling fs layer", "id": "a1"})
    assert single.line() == "0/1 layer"  # no size before one is known


def test_without_a_terminal_build_steps_are_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from pulumi_mlenv.cli.build_commands import _Progress
    from pulumi_mlenv.service import StepEvent

    progress = _Progress(live=False)
    with progress:
        progress(StepEvent(1, "[mlenv-base 1/2] FROM base", "started"))
        progress(StepEvent(1, "[mlenv-base 1/2] FROM base", "done", 0.4))
        progress(StepEvent(2, "[mlenv-deps 2/2] RUN uv pip install", "started"))
        progress(StepEvent(2, "[mlenv-deps 2/2] RUN uv pip install", "cached"))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "done     0.4 s  [mlenv-base 1/2] FROM base",
        "cached       -  [mlenv-deps 2/2] RUN uv pip install",
    ]


SPARK_LOG = """\
Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties
25/12/03 13:00:00 INFO SparkContext: Running Spark version 4.0.1
25/12/03 13:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library
:: loading settings :: url = jar:file:/ivy/ivysettings.xml
Ivy Default Cache set to: /root/.ivy2/cache
\tfound org.example#lib;1.0 in central
|      default     |   1   |   0   |   0   |   0   ||   1   |   0   |
\t1 artifacts copied, 0 already retrieved (2kB/5ms)
25/12/03 13:00:01 INFO Executor: Starting executor
epoch 1 loss 0.5
+---+----+
|  a|   b|
+---+----+
Traceback (most recent call last):
  File "/runs/x/work/job.py", line 9, in <module>
    raise ValueError("bad input")
25/12/03 13:00:02 ERROR Executor: Exception in task 0.0
java.lang.RuntimeException: boom
\tat org.apache.spark.rdd.RDD.iterator(RDD.scala:329)
\tat org.apache.spark.scheduler.Task.run(Task.scala:141)
\t... 12 more
Caused by: java.io.IOException: disk
ValueError: bad input
25/12/03 13:00:03 INFO ShutdownHookManager: Shutdown hook called
"""


def test_a_spark_runs_stream_is_the_scripts_lines_and_warnings() -> None:
    from pulumi_mlenv.compute.spark_output import SparkOutput

    shown = SparkOutput()
    text = "".join(shown.feed(SPARK_LOG[i : i + 7]) for i in range(0, len(SPARK_LOG), 7))
    text += shown.flush()
    assert text.splitlines() == [
        "25/12/03 13:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library",
        "epoch 1 loss 0.5",
        "+---+----+",
        "|  a|   b|",
        "+---+----+",
        "Traceback (most recent call last):",
        '  File "/runs/x/work/job.py", line 9, in <module>',
        '    raise ValueError("bad input")',
        "25/12/03 13:00:02 ERROR Executor: Exception in task 0.0",
        "java.lang.RuntimeException: boom",
        "ValueError: bad input",
    ]


def test_a_failed_spark_run_is_one_line_with_the_logs_path(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from pulumi_mlenv.cli.run_exec import spark_failure_line

    log = tmp_path / "output.log"
    log.write_text(SPARK_LOG)
    record = SimpleNamespace(id="3f2a9c1e", exit_code=1, logs_path=str(log))
    assert spark_failure_line(record) == (
        f"run 3f2a9c1e failed with exit code 1: ValueError: bad input; full log: {log}"
    )


def test_a_deleted_image_is_named_by_a_well_formed_reference(tmp_path: Path) -> None:
    from pulumi_mlenv.definition import parse_definition
    from pulumi_mlenv.service import image_details
    from pulumi_mlenv.service.environments import provision, resolve
    from support.fakes import FakeWorld

    world = FakeWorld(tmp_path)
    settings = world.settings()
    spec = parse_definition(
        {"name": "train", "python": {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}}}
    )
    done = provision(resolve(spec, settings, outside=world.outside()), settings=settings,
                     outside=world.outside())  # fmt: skip
    digest = done.image.split("@", 1)[1]
    world.images.pop(digest)  # gc deleted it from the registry
    with pytest.raises(MlenvError) as info:
        image_details("train:1", settings=settings, outside=world.outside())
    assert str(info.value) == f"no image 127.0.0.1:5000/mlenv/env@{digest} in the registry"
