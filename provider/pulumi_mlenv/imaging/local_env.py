"""Materialise an environment on the host as a virtualenv (built into images; local runs): local
runs
without Docker. One folder per hash under ``<cache_dir>/venvs/``, created once
(under a cross-process lock) and reused; a folder without its completion
marker is a crashed attempt and is made again."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import python_version
from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.imaging.lock import parse_lock
from pulumi_mlenv.imaging.vault import vault

__all__ = ["COMPLETE_MARKER", "local_environment"]

#: Written last: its presence means the virtualenv is whole.
COMPLETE_MARKER = ".mlenv-complete"


def _run(cmd: list[str], env: dict[str, str], redact: list[str]) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        from pulumi_mlenv.imaging.buildkit import failed_package

        log = (proc.stdout + proc.stderr)[-4000:]
        for secret in redact:
            log = log.replace(secret, "***")
        raise BuildError(
            "local environment failed", log_tail=log, failed_package=failed_package(log)
        )


def local_environment(spec: EnvironmentSpec, env_hash: str, settings: Settings) -> Path:
    """The virtualenv folder for ``spec`` (whose hash is ``env_hash``); its
    ``bin/python`` runs scripts, ``lock.txt`` holds the installed set."""
    root = Path(settings.cache_dir).expanduser() / "venvs"
    target = root / env_hash
    if (target / COMPLETE_MARKER).exists():
        return target
    # Made once per hash: the builder's helpers and the lock only then.
    from filelock import FileLock

    from pulumi_mlenv.imaging.builder import find_uv, requirements_text, secrets_of

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{env_hash}.lock")):
        if (target / COMPLETE_MARKER).exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        uv = find_uv() if settings.installer == "uv" else None
        env = dict(os.environ)
        if settings.ca_bundle:
            env.update(SSL_CERT_FILE=settings.ca_bundle, PIP_CERT=settings.ca_bundle)
        version = python_version(spec)
        redact = secrets_of(spec)
        with vault("venv") as private:  # the requirements may hold index tokens
            reqs = private / "requirements.txt"
            reqs.touch(mode=0o600)
            reqs.write_text(requirements_text(spec))
            python = target / "bin" / "python"
            if uv is not None:
                _run(
                    [
                        uv,
                        "venv",
                        "--quiet",
                        *(["--python", version] if version else []),
                        str(target),
                    ],
                    env,
                    redact,
                )
                pre = ["--prerelease=allow"] if _wants_pre(spec) else []
                _run(
                    [
                        uv,
                        "pip",
                        "install",
                        "--quiet",
                        "--python",
                        str(python),
                        *pre,
                        "-r",
                        str(reqs),
                    ],
                    env,
                    redact,
                )
                freeze = [uv, "pip", "freeze", "--python", str(python)]
            else:
                _run(
                    [shutil.which(f"python{version}") or "python3", "-m", "venv", str(target)],
                    env,
                    redact,
                )
                _run([str(python), "-m", "pip", "install", "-q", "-r", str(reqs)], env, redact)
                freeze = [str(python), "-m", "pip", "freeze"]
        out = subprocess.run(freeze, env=env, capture_output=True, text=True, check=True).stdout
        (target / "lock.txt").write_text("\n".join(parse_lock(out)) + "\n")
        (target / COMPLETE_MARKER).write_text(env_hash + "\n")
    return target


def _wants_pre(spec: EnvironmentSpec) -> bool:
    conda = spec.python.conda
    return bool(conda and "--pre" in (o.strip() for o in conda.pip_options))
