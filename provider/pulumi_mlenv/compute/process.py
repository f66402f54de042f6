"""Host processes as targets start them: in a session of their own, output
streamed as it comes, and the whole process group stopped when interrupted."""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from pulumi_mlenv.compute.job import Sink
from pulumi_mlenv.errors import EngineError

__all__ = [
    "STOP_GRACE_SECONDS", "read_chunks", "run_streaming", "stop_marked", "stop_process",
]  # fmt: skip

#: How long a stopped process gets to end before it is killed.
STOP_GRACE_SECONDS = 10


def read_chunks(stream: IO[bytes]) -> Iterator[str]:
    """Text from a pipe as soon as it arrives (UTF-8, split sequences kept whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        text = decoder.decode(chunk)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group (it was started in a session of its
    own), then SIGKILL after a grace period; returns once it has ended."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def run_streaming(
    command: list[str], *, cwd: str, env: Mapping[str, str], on_output: Sink, what: str
) -> int:
    """Run ``command`` in a session of its own, stream its merged output,
    return its exit code; interrupted, stop its whole process group."""
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stopping it reaches its children too
        )
    except OSError as exc:
        raise EngineError(f"{what}: {exc.strerror or exc} ({command[0]})") from None
    try:
        assert proc.stdout is not None
        for text in read_chunks(proc.stdout):
            on_output(text)
        return proc.wait()
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def _marked_groups(variable: str, value: str) -> set[int]:
    """Process groups of the processes whose environment has ``variable=value``."""
    mark = f"{variable}={value}".encode()
    groups: set[int] = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (proc / "environ").read_bytes().split(b"\0"):
                groups.add(os.getpgid(int(proc.name)))
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
    groups.discard(os.getpgrp())  # never this process's own group
    return groups


def stop_marked(variable: str, value: str) -> int:
    """Stop (SIGTERM, then SIGKILL after the grace period) every process group
    holding a process whose environment has ``variable=value``: what a run
    whose owner was killed left running. Returns how many groups."""
    groups = _marked_groups(variable, value)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while groups and time.monotonic() < deadline:
        if not _marked_groups(variable, value) & groups:
            return len(groups)
        time.sleep(0.1)
    for group in _marked_groups(variable, value) & groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    return len(groups)
