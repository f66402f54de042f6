"""Reading buildctl's machine-readable progress and installers' error output."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pulumi_mlenv.imaging.buildkit import ProgressDecoder, StepEvent, failed_package

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("log", "package"),
    [
        (
            "  ╰─▶ Because nonexistent-pkg-zz was not found in the package registry and you",
            "nonexistent-pkg-zz",
        ),
        ("  ╰─▶ Because there is no version of six==99.0 and you require six==99.0", "six==99.0"),
        ("ERROR: Could not find a version that satisfies the requirement six==99 (from", "six==99"),
        ("ERROR: No matching distribution found for six==99", "six==99"),
        ("  × Failed to build `broken-pkg==1.0`", "broken-pkg==1.0"),
        ("some unrelated failure", None),
    ],
)
def test_failed_package(log: str, package: str | None) -> None:
    assert failed_package(log) == package


def _decode(lines: list[str]) -> tuple[list[StepEvent], list[str]]:
    decoder = ProgressDecoder()
    events: list[StepEvent] = []
    logs: list[str] = []
    for line in lines:
        more_events, more_logs = decoder.feed(line)
        events += more_events
        logs += more_logs + (decoder.errors(line) if '"error"' in line else [])
    return events, logs


def test_a_real_failed_build_becomes_steps_logs_and_its_error() -> None:
    # buildctl --progress=rawjson of `RUN echo hello-24323 && false`, as captured.
    lines = (FIXTURES / "rawjson-failed-step.txt").read_text().splitlines()
    events, logs = _decode(lines)
    run = [e for e in events if e.name.startswith("[2/2] RUN echo hello")]
    assert [e.status for e in run] == ["started", "error"]
    cached = [e for e in events if e.name.startswith("[1/2] FROM")]
    assert cached and cached[-1].status == "cached"
    assert f"#{run[0].number} hello-24323" in logs  # the step's own output, by step
    assert any("ERROR: process" in line and "exit code: 1" in line for line in logs)
    assert logs[-1].startswith("error: failed to solve")  # buildctl's own summary, kept


def test_each_state_is_reported_once_with_its_seconds() -> None:
    vertex = {"digest": "sha256:" + "a" * 64, "name": "[stage 1/1] RUN make"}
    started = {**vertex, "started": "2026-11-28T09:00:00.100000000Z"}
    done = {**started, "completed": "2026-11-28T09:00:12.600000000Z"}
    events, _ = _decode([json.dumps({"vertexes": [v]}) for v in (vertex, started, started, done)])
    assert [(e.status, e.seconds) for e in events] == [("started", None), ("done", 12.5)]


def test_log_lines_split_across_messages_are_joined() -> None:
    digest = "sha256:" + "b" * 64

    def log(text: str) -> str:
        data = base64.b64encode(text.encode()).decode()
        return json.dumps({"logs": [{"vertex": digest, "stream": 1, "data": data}]})

    _, logs = _decode([log("Resolved 2 pack"), log("ages in 12ms\nInstalled 2\n")])
    assert logs == ["#1 Resolved 2 packages in 12ms", "#1 Installed 2"]
