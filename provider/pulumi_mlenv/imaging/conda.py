"""Step 2 with conda or micromamba, for a definition whose conda dependencies
go beyond ``python`` and ``pip`` (two build steps). Pure: text in, text out.

The base image must bring the tool; mlenv never downloads one. Stages:

1. ``mlenv-base`` and the custom steps, as in ``imaging.dockerfile``.
2. ``mlenv-conda``: its first RUN is a *probe* that finds ``micromamba``
   (preferred) or ``conda`` on PATH or at a usual place (``CONDA_TOOLS``) and
   otherwise fails at once, before anything is downloaded, printing
   ``missing_tool_message``. Its second RUN creates the environment at the
   venv path (``/opt/mlenv/venv``, so ``VIRTUAL_ENV``/``PATH`` are those of
   the uv path) from the declared channels, in order
   (``--override-channels --strict-channel-priority``), and the conda
   dependencies as declared; the package cache is a cache mount and the CA
   bundle a secret (``CONDA_SSL_VERIFY``, ``MAMBA_SSL_VERIFY``,
   ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``). The pip list is then installed into that environment
   (uv, or the environment's pip with ``MLENV_INSTALLER=pip``), and the lock
   written: ``<tool> list --json`` as ``name==version``, then the pip
   freeze lines of packages conda does not list.
3. the image: ``mlenv-base`` plus one ``COPY --link`` of the environment; the
   lock is read back through ``mlenv-lock`` as for a one-step uv/pip build.
"""

from __future__ import annotations

import re
import shlex

from pulumi_mlenv.definition.conda_specs import canonical_conda_spec, conda_spec_name
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import extra_conda_packages
from pulumi_mlenv.imaging.dockerfile import (
    BASE_STAGE,
    LOCK_PATH,
    MLENV_ROOT,
    OUT_ROOT,
    SECRET_CA,
    SECRET_REQUIREMENTS,
    UV_CONTEXT,
    VENV_PATH,
    RenderOptions,
    image_from_stage,
    render_step_one,
    wants_pre,
    with_labels,
)

__all__ = [
    "CONDA_STAGE",
    "CONDA_TOOLS",
    "DEFAULT_CHANNEL",
    "MISSING_TOOL",
    "conda_create_command",
    "find_missing_tool_message",
    "missing_tool_message",
    "render_conda",
]

CONDA_STAGE = "mlenv-conda"
#: Where the probe looks, in order: micromamba first (fast, one binary).
CONDA_TOOLS = (
    "micromamba",
    "/usr/local/bin/micromamba",
    "/opt/conda/bin/micromamba",
    "conda",
    "/opt/conda/bin/conda",
)
#: Used when the definition declares no channel (micromamba has no default).
DEFAULT_CHANNEL = "conda-forge"
#: The start of the probe's message; the builder finds it in the build log.
MISSING_TOOL = "mlenv: conda packages "
#: Where the probe leaves the tool it found (in the build stage only).
_TOOL_FILE = "/mlenv-conda-tool"
_PKGS = "/root/.cache/mlenv-conda/pkgs"
_REDACT_SED = r"sed -E 's#(://)[^/@ ]+@#\1#g'"
# ``list --json`` (conda, and micromamba 1.x and 2.x alike; ``--export`` is
# newer in micromamba), read by the environment's own Python.
_JSON_TO_PINS = (
    "import json, sys; print(''.join("
    "p['name'] + '==' + p['version'] + chr(10) for p in json.load(sys.stdin)), end='')"
)
_MESSAGE_LINE = re.compile(r"(mlenv: conda packages .*?)\s*$", re.MULTILINE)


def missing_tool_message(spec: EnvironmentSpec) -> str:
    """What a build says when the base image has neither tool."""
    return (
        f"{MISSING_TOOL}{', '.join(extra_conda_packages(spec))} need conda or micromamba"
        " in the base image (none found on PATH); use a base image with micromamba,"
        " or move them to the pip list"
    )


def find_missing_tool_message(log: str) -> str | None:
    """The probe's message in a build log (its output line, not its command)."""
    for m in _MESSAGE_LINE.finditer(log):
        text = m.group(1)
        if "'" not in text and '"' not in text:  # the RUN's own text is quoted
            return text
    return None


def _dependencies(spec: EnvironmentSpec) -> list[str]:
    conda = spec.python.conda
    deps = [canonical_conda_spec(d) or d.strip() for d in (conda.dependencies if conda else ())]
    if not any(conda_spec_name(d) == "python" for d in deps):
        deps.insert(0, "python")  # the environment is a Python environment
    return deps


def conda_create_command(spec: EnvironmentSpec) -> str:
    """``"$tool" create ...`` for ``spec``: channels in the declared order,
    nothing from the tool's own configuration, the dependencies as declared."""
    conda = spec.python.conda
    channels = (conda.channels if conda else ()) or (DEFAULT_CHANNEL,)
    words = ["create", "--yes", "--quiet", "--prefix", VENV_PATH, "--override-channels"]
    for channel in channels:
        words += ["-c", channel]
    words += ["--strict-channel-priority", *_dependencies(spec)]
    return '"$tool" ' + " ".join(shlex.quote(w) for w in words)


def _probe(spec: EnvironmentSpec) -> str:
    candidates = " ".join(CONDA_TOOLS)
    message = shlex.quote(missing_tool_message(spec))
    return (
        f"RUN for t in {candidates}; do p=$(command -v $t 2>/dev/null) && "
        f'[ -x "$p" ] && {{ echo "$p" > {_TOOL_FILE}; exit 0; }}; done; '
        f"echo {message} >&2; exit 1"
    )


def _pip_lines(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    conda = spec.python.conda
    py = f"{VENV_PATH}/bin/python"
    pre = wants_pre(spec)
    if options.installer == "pip":
        install = (
            f"{py} -m pip install --no-compile {'--pre ' if pre else ''}"
            f"-r /run/secrets/{SECRET_REQUIREMENTS}"
        )
        freeze = f"{py} -m pip freeze --all --exclude pip --exclude setuptools"
    else:
        install = (
            f"uv pip install --python {py} {'--prerelease=allow ' if pre else ''}"
            f"-r /run/secrets/{SECRET_REQUIREMENTS}"
        )
        freeze = f"uv pip freeze --python {py}"
    lines = [install] if conda and conda.pip else []
    return [*lines, f"{freeze} | {_REDACT_SED} > /tmp/mlenv-pip.lock"]


def _install_script(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    return [
        "set -eu",
        f'tool=$(cat {_TOOL_FILE}); echo "mlenv: creating the environment with $tool"',
        "if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca"
        " REQUESTS_CA_BUNDLE=/run/secrets/ca PIP_CERT=/run/secrets/ca"
        " CONDA_SSL_VERIFY=/run/secrets/ca MAMBA_SSL_VERIFY=/run/secrets/ca; fi",
        "export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0} PYTHONHASHSEED=0",
        f"export CONDA_PKGS_DIRS={_PKGS} MAMBA_ROOT_PREFIX=/tmp/mlenv-mamba-root"
        " UV_LINK_MODE=copy UV_NO_PROGRESS=1 UV_CACHE_DIR=/root/.cache/uv"
        " PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=/root/.cache/pip",
        f"mkdir -p {MLENV_ROOT}",
        conda_create_command(spec),
        *_pip_lines(spec, options),
        # The lock: conda's packages, then what pip alone installed.
        f'"$tool" list --prefix {VENV_PATH} --json | {VENV_PATH}/bin/python -c'
        f' "{_JSON_TO_PINS}" > /tmp/mlenv-conda.lock',
        "awk -F'==| @ ' 'NR == FNR { seen[tolower($1)] = 1; print; next }"
        " !(tolower($1) in seen)' /tmp/mlenv-conda.lock /tmp/mlenv-pip.lock"
        f" | sort > {LOCK_PATH}",
        # conda and micromamba stamp each transaction with the clock: fixed,
        # so that two builds give the same bytes (docs/reproducibility.md).
        f"if [ -f {VENV_PATH}/conda-meta/history ]; then sed -i -E"
        f" 's/^==> [0-9: -]+ <==$/==> 1970-01-01 00:00:00 <==/' {VENV_PATH}/conda-meta/history; fi",
        f"mkdir -p {OUT_ROOT}/opt && mv {MLENV_ROOT} {OUT_ROOT}{MLENV_ROOT}",
        f"find {OUT_ROOT} -exec touch -h -d @$SOURCE_DATE_EPOCH {{}} +",
    ]


def _conda_stage(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    mounts = [
        f"--mount=type=cache,target={_PKGS},id={options.cache_id}-conda,sharing=locked",
        f"--mount=type=secret,id={SECRET_CA}",
        f"--mount=type=secret,id={SECRET_REQUIREMENTS},required=true",
    ]
    if options.installer == "pip":
        mounts.insert(1, f"--mount=type=cache,target=/root/.cache/pip,id={options.cache_id}-pip")
    else:
        mounts[1:1] = [
            f"--mount=type=bind,from={UV_CONTEXT},source=uv,target=/usr/local/bin/uv",
            f"--mount=type=cache,target=/root/.cache/uv,id={options.cache_id}-uv,sharing=shared",
        ]
    return [
        f"FROM {BASE_STAGE} AS {CONDA_STAGE}",
        "ARG SOURCE_DATE_EPOCH",
        # First, and cheap: no conda tool, no download.
        _probe(spec),
        # Secret contents are not in BuildKit's cache key: the hash is.
        f"ENV MLENV_HASH={options.env_hash}",
        "RUN " + " \\\n    ".join(mounts) + " <<'MLENV'",
        *_install_script(spec, options),
        "MLENV",
    ]


def render_conda(spec: EnvironmentSpec, options: RenderOptions) -> str:
    """The Dockerfile of a system-managed definition with conda packages
    beyond ``python`` and ``pip``. Deterministic, like ``render``."""
    out = render_step_one(spec, options)
    out += ["", "# Step 2: the conda environment (secrets mounted, never copied)."]
    out += _conda_stage(spec, options) + image_from_stage(CONDA_STAGE)
    return with_labels(out, options)
