"""Run a build on a BuildKit daemon with ``buildctl`` and read what it says.

``buildctl`` is a subprocess: no gRPC client to pin, and the same command
works against a local socket or a team's remote ``tcp://`` builder. Its
machine-readable progress (``--progress=rawjson``: one JSON status a line,
BuildKit's own ``SolveStatus``) is decoded into ``StepEvent``s (for the
progress display) and into the steps' own output, kept as a bounded tail
(for ``BuildError``) and, on a failure, as a whole log file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_mlenv.errors import BuildError, EngineError
from pulumi_mlenv.imaging.registry_failure import registry_failure

__all__ = [
    "BuildOutcome",
    "BuildRequest",
    "ProgressDecoder",
    "StepEvent",
    "buildctl_path",
    "failed_package",
    "run_buildctl",
]

_TAIL_LINES = 60


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One change of a build step: ``status`` is ``started``, ``done``,
    ``cached`` or ``error``; ``seconds`` is set on ``done``."""

    number: int
    name: str
    status: str
    seconds: float | None = None


ProgressCallback = Callable[[StepEvent], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    """A buildctl invocation. ``contexts`` maps local context names to
    folders (``context`` and ``dockerfile`` are required); ``secrets`` maps
    secret ids to files; ``output`` is buildctl's ``--output`` value."""

    buildkit_host: str
    contexts: Mapping[str, Path]
    output: str
    secrets: Mapping[str, Path] = field(default_factory=dict)
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    #: A folder with a Docker ``config.json`` holding registry logins, for
    #: buildctl to answer the daemon's auth requests (never in the build).
    docker_config: Path | None = None


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What a successful build returned: the manifest digest (None for a
    non-image output), the seconds spent and the end of the log."""

    digest: str | None
    seconds: float
    log_tail: str


def buildctl_path() -> str:
    """Where ``buildctl`` is: ``$MLENV_BUILDCTL``, PATH, then the cache folder
    the setup scripts use."""
    from pulumi_mlenv.config import buildctl_override

    explicit, cache = buildctl_override()
    if explicit:
        return explicit
    found = shutil.which("buildctl")
    if found:
        return found
    candidates = sorted((cache / "buildkit").glob("v*/buildctl"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise EngineError("buildctl not found: install BuildKit's buildctl or set MLENV_BUILDCTL")


def _seconds(started: str | None, completed: str | None) -> float | None:
    """Seconds between two RFC 3339 times BuildKit reports (nanoseconds cut)."""
    if not started or not completed:
        return None
    from datetime import datetime

    def parse(text: str) -> datetime:
        head, _, frac = text.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")

    return round((parse(completed) - parse(started)).total_seconds(), 3)


def _step_line(event: StepEvent) -> str:
    """A step's change as buildctl's plain progress writes it (``#7 DONE 1.2s``)."""
    if event.status == "started":
        return f"#{event.number} {event.name}"
    seconds = f" {event.seconds:.1f}s" if event.seconds is not None else ""
    return f"#{event.number} {event.status.upper()}{seconds}"


class ProgressDecoder:
    """Turns buildctl's ``--progress=rawjson`` lines into step events and log
    lines. Steps (BuildKit's vertexes, by digest) are numbered in the order
    they first appear; each step's output comes back as ``#N <line>``, and a
    line that is not JSON (buildctl's closing error summary) as it is."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._reported: dict[int, str] = {}
        self._partial: dict[int, str] = {}

    def _number(self, digest: str, name: str) -> int:
        number = self._numbers.setdefault(digest, len(self._numbers) + 1)
        if name:
            self._names[number] = name.split("\n")[0][:120]
        return number

    def feed(self, line: str) -> tuple[list[StepEvent], list[str]]:
        """The events and log lines one line of output holds."""
        text = line.strip()
        if not text.startswith("{"):
            return [], [line] if text else []
        try:
            status = json.loads(text)
        except ValueError:
            return [], [line]
        if not isinstance(status, dict):
            return [], [line]
        events: list[StepEvent] = []
        logs: list[str] = []
        for vertex in status.get("vertexes") or []:
            event = self._vertex(vertex)
            if event is not None:
                events.append(event)
                logs.append(_step_line(event))  # the log reads like buildctl's plain one
        for entry in status.get("logs") or []:
            logs += self._log(entry)
        return events, logs

    def _vertex(self, vertex: dict[str, object]) -> StepEvent | None:
        number = self._number(str(vertex.get("digest", "")), str(vertex.get("name") or ""))
        name = self._names.get(number, f"#{number}")
        if vertex.get("error"):
            status = "error"
        elif vertex.get("cached"):
            status = "cached"
        elif vertex.get("completed"):
            status = "done"
        elif vertex.get("started"):
            status = "started"
        else:
            return None  # known, not started yet
        if self._reported.get(number) == status:
            return None
        self._reported[number] = status
        seconds = _seconds(
            str(vertex.get("started") or ""), str(vertex.get("completed") or "")
        ) if status == "done" else None  # fmt: skip
        return StepEvent(number, name, status, seconds)

    def _log(self, entry: dict[str, object]) -> list[str]:
        import base64

        number = self._number(str(entry.get("vertex", "")), "")
        try:
            data = base64.b64decode(str(entry.get("data") or "")).decode("utf-8", "replace")
        except ValueError:
            return []
        text = self._partial.pop(number, "") + data
        *complete, rest = text.split("\n")
        if rest:
            self._partial[number] = rest
        return [f"#{number} {piece.rstrip(chr(13))}" for piece in complete]

    def errors(self, status_line: str) -> list[str]:
        """The error messages a JSON status line holds (a failed step's)."""
        try:
            status = json.loads(status_line)
        except ValueError:
            return []
        if not isinstance(status, dict):
            return []
        return [
            f"#{self._number(str(v.get('digest', '')), '')} ERROR: {v['error']}"
            for v in status.get("vertexes") or []
            if isinstance(v, dict) and v.get("error")
        ]


# Installer messages that name the package at fault, most specific first.
_FAILED = (
    re.compile(r"Because ([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the package registry"),
    re.compile(r"there is no version of ([A-Za-z0-9][A-Za-z0-9._-]*(?:[=<>!~]=?[^\s,]+)?)"),
    re.compile(r"only ([A-Za-z0-9][A-Za-z0-9._-]*)[<>=!~]"),
    re.compile(r"Failed to (?:build|download|prepare distributions for) `([^`]+)`"),
    re.compile(r"No matching distribution found for ([^\s]+)"),
    re.compile(r"Could not find a version that satisfies the requirement ([^\s]+)"),
    re.compile(r"Failed to build ([A-Za-z0-9][A-Za-z0-9._-]*)"),
)


def failed_package(log: str) -> str | None:
    """The package an installer (uv or pip) could not install, from its
    error output; None when the log names none."""
    for pattern in _FAILED:
        m = pattern.search(log)
        if m:
            return m.group(1).rstrip(".,:")
    return None


def _command(request: BuildRequest, metadata: Path) -> list[str]:
    cmd = [
        buildctl_path(),
        "--addr",
        request.buildkit_host,
        "build",
        "--frontend",
        "dockerfile.v0",
        "--progress=rawjson",
        "--metadata-file",
        str(metadata),
        "--output",
        request.output,
    ]
    for name, folder in request.contexts.items():
        cmd += ["--local", f"{name}={folder}"]
        if name not in ("context", "dockerfile"):
            cmd += ["--opt", f"context:{name}=local:{name}"]
    for sid, path in request.secrets.items():
        cmd += ["--secret", f"id={sid},src={path}"]
    for key, value in sorted(request.build_args.items()):
        cmd += ["--opt", f"build-arg:{key}={value}"]
    if request.target:
        cmd += ["--opt", f"target={request.target}"]
    if request.no_cache:
        cmd.append("--no-cache")
    return cmd


#: What buildctl prints when the daemon goes away in the middle of a build.
_DAEMON_GONE = (
    "code = Unavailable",
    "error reading from server",
    "transport is closing",
    "connection reset by peer",
    "broken pipe",
)


def _keep_log(lines: list[str]) -> Path:
    """Write a failed build's whole (redacted) log where the user can read it."""
    from pulumi_mlenv.config import log_dir

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_buildctl(
    request: BuildRequest,
    *,
    metadata_file: Path,
    progress: ProgressCallback | None = None,
    redact: Sequence[str] = (),
) -> BuildOutcome:
    """Run one build; return its outcome or raise ``BuildError`` (the build
    failed: log tail and failed package) / ``EngineError`` (no daemon).

    ``redact`` lists strings removed from every kept log line (tokens).
    """
    started = time.monotonic()
    decoder = ProgressDecoder()
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    errors: list[str] = []
    full: list[str] = []  # kept (redacted) for the log file of a failure
    try:
        env = None
        if request.docker_config is not None:
            env = {**os.environ, "DOCKER_CONFIG": str(request.docker_config)}
        proc = subprocess.Popen(
            _command(request, metadata_file),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise EngineError(f"running buildctl: {exc}") from exc
    assert proc.stdout is not None
    for raw in proc.stdout:
        events, lines = decoder.feed(raw.rstrip("\n"))
        if '"error"' in raw:
            lines += decoder.errors(raw)
        for line in lines:
            for secret in redact:
                if secret:
                    line = line.replace(secret, "***")
            tail.append(line)
            full.append(line)
            if " error: " in line.lower() or "×" in line or "ERROR" in line or "Because" in line:
                errors.append(line)
        if progress is not None:
            for event in events:
                progress(event)
    code = proc.wait()
    seconds = time.monotonic() - started
    text = "\n".join(tail)
    if code != 0:
        registry = registry_failure(text, request.buildkit_host)
        if registry is not None:
            raise EngineError(registry.message())
        if "connection refused" in text or ("no such file or directory" in text and "sock" in text):
            last = tail[-1] if tail else ""
            raise EngineError(f"BuildKit daemon at {request.buildkit_host} is unreachable: {last}")
        last_lines = "\n".join(list(tail)[-5:])
        if any(sign in last_lines for sign in _DAEMON_GONE):
            log = _keep_log(full)
            raise EngineError(
                f"BuildKit daemon at {request.buildkit_host} stopped answering during the "
                f"build (full log: {log})"
            )
        package = failed_package("\n".join(errors) + "\n" + text)
        raise BuildError("image build failed", log_tail=text, failed_package=package)
    digest: str | None = None
    if metadata_file.exists():
        meta = json.loads(metadata_file.read_text() or "{}")
        value = meta.get("containerimage.digest")
        digest = value if isinstance(value, str) else None
    return BuildOutcome(digest, seconds, text)
