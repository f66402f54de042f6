"""Resolve an environment on the host instead of in a build of its own.

The pin build (``dockerfile.render_pin_step``) runs ``uv pip compile`` with
the image's own interpreter: about a second of BuildKit solve before the
image build starts. It also prints what that interpreter is (Python
version, machine, C library: ``PYTHON_PROBE``), and the builder keeps that
per base stage and Python selector (``remember``). The next build on the
same base then runs the same ``uv`` binary on the host, with
``--python-version`` and ``--python-platform`` set to those facts, against
the same requirements file (index options included) and CA bundle: the same
resolver, inputs and target, so the same lock, without a solve.

Not used (the pin build runs as before) when the definition holds
credentials (an index token would reach the host's uv cache), when the
interpreter's platform is not one uv can target, or when the host resolve
fails (the pin build then gives its usual error).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.definition.text import redact_url_credentials

__all__ = ["PythonFacts", "facts_path", "known_facts", "parse_probe", "remember", "resolve_on_host"]

#: glibc versions uv names as targets (``x86_64-manylinux_2_36``).
_MANYLINUX = range(17, 41)
_MACHINES = frozenset({"x86_64", "aarch64"})
_GLIBC = re.compile(r"^glibc (\d+)\.(\d+)$")


@dataclass(frozen=True, slots=True)
class PythonFacts:
    """The image interpreter as uv targets it: ``3.11.2``, ``x86_64-manylinux_2_36``."""

    version: str
    platform: str


def parse_probe(text: str) -> PythonFacts | None:
    """The facts ``PYTHON_PROBE`` printed, or None when uv cannot target them."""
    lines = [line.strip() for line in text.splitlines()]
    if len(lines) < 3 or not re.fullmatch(r"\d+\.\d+\.\d+", lines[0]):
        return None
    machine, libc = lines[1], _GLIBC.match(lines[2])
    if machine not in _MACHINES or libc is None or libc[1] != "2":
        return None
    minor = min(int(libc[2]), max(_MANYLINUX))
    if minor not in _MANYLINUX:
        return None
    return PythonFacts(lines[0], f"{machine}-manylinux_2_{minor}")


def facts_path(work_dir: Path, base_key: str, selector: str) -> Path:
    """Where the facts of a base stage's interpreter are kept."""
    name = hashlib.sha256(f"{base_key}\0{selector}".encode()).hexdigest()[:32]
    return work_dir / "python-facts" / f"{name}.json"


def known_facts(path: Path) -> PythonFacts | None:
    """The facts kept at ``path``; None when none (or unreadable)."""
    try:
        data = json.loads(path.read_text())
        return PythonFacts(str(data["version"]), str(data["platform"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(path: Path, facts: PythonFacts) -> None:
    """Keep ``facts`` at ``path`` (written whole, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    tmp.write_text(json.dumps({"version": facts.version, "platform": facts.platform}))
    os.replace(tmp, path)


def _environment(ca_bundle: str | None, cache_dir: Path) -> dict[str, str]:
    """The host's environment without uv's and pip's own settings (the image
    build sees none of them), with the CA bundle the build gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_CACHE_DIR=str(cache_dir), UV_NO_PROGRESS="1")
    if ca_bundle:
        env.update(SSL_CERT_FILE=ca_bundle, REQUESTS_CA_BUNDLE=ca_bundle)
    return env


def resolve_on_host(
    uv: str,
    requirements: Path,
    facts: PythonFacts,
    *,
    pre: bool,
    ca_bundle: str | None,
    cache_dir: Path,
    out_dir: Path,
) -> str | None:
    """``uv pip compile`` on the host for the image's interpreter: the
    resolver's output as the pin build gives it, or None when it failed."""
    out = out_dir / "host-lock.txt"
    command = [
        uv, "pip", "compile", "--quiet", "--no-config", "--no-header", "--no-annotate",
        "--python-version", facts.version, "--python-platform", facts.platform,
        *(["--prerelease=allow"] if pre else []), "-o", str(out), str(requirements),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        env=_environment(ca_bundle, cache_dir),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        return None
    return "".join(redact_url_credentials(line) for line in out.read_text().splitlines(True))
