"""The environment a deployment serves from, and its inference image: the
environment version read from the workspace, a user-managed one probed for
the server, and the image (environment + server + scoring code) reused by
key or built once, under a lock per key shared by every process."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.imaging.dockerfile import VENV_PATH
from pulumi_mlenv.imaging.inference import INFERENCE_REPOSITORY, InferenceBuild, inference_key
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.scoring_code import Code, code_folder

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import ServiceEngine

__all__ = [
    "SERVER_MODULE",
    "SERVER_PACKAGE",
    "EnvironmentInfo",
    "InferenceImage",
    "check_server",
    "environment_info",
    "inference_image",
]

SERVER_PACKAGE = "azureml-inference-server-http"
SERVER_MODULE = "azureml_inference_server_http"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentInfo:
    """An environment version as a deployment needs it."""

    name: str
    version: str
    image: str
    env_hash: str
    system_managed: bool
    python: str
    variables: tuple[tuple[str, str], ...] = ()

    @property
    def digest(self) -> str:
        return self.image.rsplit("@", 1)[-1]


def environment_info(
    ref: str, *, workspace_url: str, outside: Outside | None = None
) -> EnvironmentInfo:
    """The environment version ``NAME:VERSION`` from the workspace."""
    from pulumi_mlenv.definition import parse_definition

    name, _, version = ref.partition(":")
    with outside_or_real(outside).workspace(workspace_url) as ws:
        record = ws.get_version(name, version or None)
    if record is None:
        raise SpecError.at(
            "environment", f"no environment version {ref} in the workspace", "register it first"
        )
    spec = parse_definition(record.definition)
    user = spec.python.user_managed
    return EnvironmentInfo(
        name=record.name,
        version=record.version,
        image=record.image,
        env_hash=record.env_hash,
        system_managed=not user,
        python=(spec.python.interpreter_path or "python3") if user else f"{VENV_PATH}/bin/python",
        variables=tuple(record.environment_variables),
    )


def check_server(target: ServiceEngine, env: EnvironmentInfo) -> None:
    """A user-managed environment must contain the server itself."""
    code, output = target.run(env.image, [env.python, "-c", f"import {SERVER_MODULE}"], {})
    if code != 0:
        raise SpecError.at(
            "environment",
            f"the user-managed environment {env.name}:{env.version} does not contain the "
            f"package {SERVER_PACKAGE}, which serves models as web services "
            f"({output.strip().splitlines()[-1] if output.strip() else f'exit code {code}'})",
            f"add {SERVER_PACKAGE} to the environment's own image (e.g. a Docker step "
            f"`RUN {env.python} -m pip install {SERVER_PACKAGE}`), or use a system-managed "
            "environment",
        )


@dataclass(frozen=True, slots=True)
class InferenceImage:
    """The inference image by digest; ``built`` False when reused by key."""

    image: str
    digest: str
    built: bool
    seconds: float


def inference_image(
    env: EnvironmentInfo,
    code: Code,
    settings: Settings,
    progress: Callable[[StepEvent], None] | None,
    io: Outside,
    *,
    entry_script: str,
    source: str | None,
) -> InferenceImage:
    """The image for ``env`` + the server + ``code``: reused by key, else
    built once (a cross-process lock per key; a second look under it)."""
    started = time.monotonic()
    key = inference_key(
        env.digest, settings.inference_server, code.code_hash, system_managed=env.system_managed
    )
    with io.registry(settings.registry, settings) as client:
        repository = client.repository_for(INFERENCE_REPOSITORY)
        found = client.digest_of(repository, key)
        if found is None:
            locks = Path(settings.cache_dir).expanduser() / "locks"
            locks.mkdir(parents=True, exist_ok=True)
            with FileLock(str(locks / f"inference-{key}.lock")):
                found = client.digest_of(repository, key)
                if found is None:
                    return _build(
                        env,
                        code,
                        settings,
                        progress,
                        io,
                        repository_ref=f"{client.host}/{repository}",
                        key=key,
                        copy_code=lambda into: code_folder(entry_script, source, into),
                    )
        return InferenceImage(
            f"{client.host}/{repository}@{found}", found, False, time.monotonic() - started
        )


def _build(
    env: EnvironmentInfo,
    code: Code,
    settings: Settings,
    progress: Callable[[StepEvent], None] | None,
    io: Outside,
    *,
    repository_ref: str,
    key: str,
    copy_code: Callable[[Path], Path],
) -> InferenceImage:
    work = Path(settings.cache_dir).expanduser() / "build"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="code-", dir=work) as tmp:
        built = io.build_inference(
            InferenceBuild(
                env_image=env.image,
                system_managed=env.system_managed,
                server=settings.inference_server,
                code_dir=copy_code(Path(tmp)),
                code_hash=code.code_hash,
                image_name=f"{repository_ref}:{key}",
                buildkit_host=settings.buildkit_host,
                work_dir=work,
                ca_bundle=settings.ca_bundle,
                registry_auth=settings.registry_credentials,
            ),
            progress,
        )
    return InferenceImage(f"{repository_ref}@{built.digest}", built.digest, True, built.seconds)
