"""The inference image of a deployment: an environment's image, plus the
inference server (system-managed environments only), plus the scoring code.

    FROM <environment image by digest>        the environment, untouched
    RUN uv pip install <server> -c lock.txt    system-managed only: the server,
                                               its dependencies constrained to
                                               the environment's lock
    COPY --link code/ /var/azureml-app/code/   the entry script and source

The environment's own hash and image do not change. The inference image is
tagged with ``inference_key`` (environment digest + server requirement +
code hash + this recipe), so the same environment, server and code build
once and are reused everywhere; a code change rebuilds the last layer only
(the server layer comes from BuildKit's cache). The model is not in the
image: it is mounted read-only at run time (see ``service.deployments``).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.imaging.builder import _docker_config, _image_output, _secret_file, _uv_context
from pulumi_mlenv.imaging.buildkit import BuildRequest, ProgressCallback, run_buildctl
from pulumi_mlenv.imaging.dockerfile import (
    LABEL_PREFIX,
    LOCK_PATH,
    SECRET_CA,
    UV_CONTEXT,
    VENV_PATH,
)
from pulumi_mlenv.imaging.vault import build_folders

__all__ = [
    "APP_ROOT",
    "CODE_DIR",
    "INFERENCE_RECIPE",
    "INFERENCE_REPOSITORY",
    "MODELS_DIR",
    "InferenceBuild",
    "build_inference_image",
    "inference_key",
    "render_inference",
]

#: Bump when the rendered Dockerfile changes shape: it is part of the key.
INFERENCE_RECIPE = "mlenv-inference-v1"
#: Repository of inference images, under the registry's namespace.
INFERENCE_REPOSITORY = "mlenv/inference"
#: Azure ML's layout inside the container.
APP_ROOT = "/var/azureml-app"
CODE_DIR = f"{APP_ROOT}/code"
MODELS_DIR = f"{APP_ROOT}/azureml-models"


def inference_key(env_digest: str, server: str, code_hash: str, *, system_managed: bool) -> str:
    """The tag of an inference image: sha256 of what shapes it."""
    payload = json.dumps(
        {
            "recipe": INFERENCE_RECIPE,
            "environment": env_digest,
            "server": server if system_managed else "(in the environment)",
            "code": code_hash,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def render_inference(
    env_image: str,
    *,
    system_managed: bool,
    server: str,
    labels: tuple[tuple[str, str], ...] = (),
    cache_id: str = "mlenv",
) -> str:
    """The Dockerfile of an inference image (pure; labels sorted)."""
    out = [
        "# Rendered by pulumi-mlenv: environment + inference server + scoring code.",
        f"FROM {env_image} AS mlenv-env",
        "",
        "FROM mlenv-env AS mlenv-server",
    ]
    if system_managed:
        mounts = [
            f"--mount=type=bind,from={UV_CONTEXT},source=uv,target=/usr/local/bin/uv",
            f"--mount=type=cache,target=/root/.cache/uv,id={cache_id}-uv,sharing=shared",
            f"--mount=type=secret,id={SECRET_CA}",
        ]
        out += [
            "ARG SOURCE_DATE_EPOCH",
            "RUN " + " \\\n    ".join(mounts) + " <<'MLENV'",
            "set -eu",
            "if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca"
            " PIP_CERT=/run/secrets/ca REQUESTS_CA_BUNDLE=/run/secrets/ca; fi",
            "export UV_LINK_MODE=copy UV_NO_PROGRESS=1 UV_CACHE_DIR=/root/.cache/uv",
            # The environment's pins stay as they are: the server adapts to them.
            "set --",
            f"if [ -f {LOCK_PATH} ]; then set -- -c {LOCK_PATH}; fi",
            f'uv pip install --quiet --python {VENV_PATH}/bin/python "$@" {shlex.quote(server)}',
            "MLENV",
        ]
    out += [
        "",
        "FROM mlenv-server",
        f"COPY --link code/ {CODE_DIR}/",
        f"WORKDIR {CODE_DIR}",
    ]
    for key, value in sorted(labels):
        out.append(f'LABEL {key}="{value}"')
    return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceBuild:
    """One inference image to build and push to ``image_name`` (``registry/repo:key``)."""

    env_image: str
    system_managed: bool
    server: str
    code_dir: Path
    code_hash: str
    image_name: str
    buildkit_host: str
    work_dir: Path
    ca_bundle: str | None = None
    registry_auth: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class BuiltInference:
    digest: str
    dockerfile: str
    seconds: float


def build_inference_image(
    job: InferenceBuild, *, progress: ProgressCallback | None = None
) -> BuiltInference:
    """Build and push ``job``; ``BuildError`` with the log tail when the
    server cannot be installed (e.g. it conflicts with the environment's pins)."""
    labels = (
        (f"{LABEL_PREFIX}.inference.environment", job.env_image),
        (f"{LABEL_PREFIX}.inference.server", job.server),
        (f"{LABEL_PREFIX}.inference.code", job.code_hash),
    )
    dockerfile = render_inference(
        job.env_image, system_managed=job.system_managed, server=job.server, labels=labels
    )
    job.work_dir.mkdir(parents=True, exist_ok=True)
    with build_folders(job.work_dir, "inference") as (root, private):
        context = root / "context"
        shutil.copytree(job.code_dir, context / "code")
        (context / "Dockerfile").write_text(dockerfile)
        contexts: dict[str, Path] = {"context": context, "dockerfile": context}
        ca = _secret_file(private, "ca", "")
        if job.ca_bundle:
            shutil.copyfile(job.ca_bundle, ca)
        if job.system_managed:
            contexts[UV_CONTEXT] = _uv_context(job.work_dir)
        request = BuildRequest(
            buildkit_host=job.buildkit_host,
            contexts=contexts,
            output=_image_output(job.image_name, "gzip,compression-level=1"),
            secrets={SECRET_CA: ca},
            build_args={"SOURCE_DATE_EPOCH": "0"},
            docker_config=_docker_config(private, job.registry_auth),
        )
        outcome = run_buildctl(request, metadata_file=root / "metadata.json", progress=progress)
    if outcome.digest is None:
        raise BuildError("the inference image build pushed no image (no digest in its metadata)")
    return BuiltInference(outcome.digest, dockerfile, outcome.seconds)
