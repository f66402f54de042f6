"""Run a build on a BuildKit daemon with ``buildctl`` and read what it says.

``buildctl`` is a subprocess: no gRPC client to pin, and the same command
works against a local socket or a team's remote ``tcp://`` builder. Its
``--progress=plain`` output is parsed line by line into ``StepEvent``s (for
the progress display) and kept as a bounded tail (for ``BuildError``).
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

__all__ = [
    "BuildOutcome",
    "BuildRequest",
    "StepEvent",
    "buildctl_path",
    "failed_package",
    "parse_progress_line",
    "run_buildctl",
]

_TAIL_LINES = 60
_STEP = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_DONE = re.compile(r"^#(\d+) (DONE|CACHED|ERROR)(?: ([0-9.]+)s)?")
_OTHER = re.compile(r"^#(\d+) ([a-z].*)$")


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


def parse_progress_line(line: str, names: dict[int, str]) -> StepEvent | None:
    """Turn one ``--progress=plain`` line into an event, or None when it is
    log output. ``names`` remembers step names across lines (mutated)."""
    m = _STEP.match(line)
    if m:
        number = int(m.group(1))
        name = f"[{m.group(2)}] {m.group(3)}".split("\n")[0]
        names[number] = name[:120]
        return StepEvent(number, names[number], "started")
    m = _DONE.match(line)
    if m:
        number = int(m.group(1))
        status = {"DONE": "done", "CACHED": "cached", "ERROR": "error"}[m.group(2)]
        seconds = float(m.group(3)) if m.group(3) else None
        return StepEvent(number, names.get(number, f"#{number}"), status, seconds)
    m = _OTHER.match(line)
    if m and int(m.group(1)) not in names and not m.group(2)[0].isdigit():
        number = int(m.group(1))
        names[number] = m.group(2)[:120]
        return StepEvent(number, names[number], "started")
    return None


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
        "--progress=plain",
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
    names: dict[int, str] = {}
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
        line = raw.rstrip("\n")
        for secret in redact:
            if secret:
                line = line.replace(secret, "***")
        tail.append(line)
        full.append(line)
        if " error: " in line.lower() or "×" in line or "ERROR" in line or "Because" in line:
            errors.append(line)
        event = parse_progress_line(line, names)
        if event is not None and progress is not None:
            progress(event)
    code = proc.wait()
    seconds = time.monotonic() - started
    text = "\n".join(tail)
    if code != 0:
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
