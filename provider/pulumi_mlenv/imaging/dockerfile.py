"""Render the Dockerfile of an environment (two build steps). Pure: text in, text out.

Stages, ordered by volatility:

1. ``mlenv-base``: the base image *by digest* (or the user's base Dockerfile,
   whose last stage is renamed), then the custom Docker steps in order.
2. Step 2 (system-managed only), uv: ``mlenv-venv`` makes the empty venv at
   ``/opt/mlenv/venv`` from the base's Python. ``render_pin_step`` adds
   ``mlenv-pin`` (``uv pip compile``, keyed on the hash) whose output the
   builder reads back; ``render`` with ``options.layers`` then adds one
   ``mlenv-pkg-<group>`` stage per layer group (``imaging.layers``), each a
   ``--no-deps`` install of its pins into a venv-shaped prefix, and
   ``mlenv-lockfile``. Otherwise (pip, or requirements that are not plain
   pins) one ``mlenv-builder`` stage installs everything and freezes the lock
   into ``/opt/mlenv/lock.txt``, exported alone by ``mlenv-lock``. The
   requirements, index options and their credentials arrive as BuildKit
   *secrets* (never a layer), the CA bundle too.
3. the final stage: ``mlenv-base`` plus a ``COPY --link`` per step-2 stage:
   layers that do not depend on the layers below them (a moved base re-uses
   them, identical ones are one blob). Every file of them has its mtime fixed
   in its stage, under a root of its own, so layers are reproducible without
   the exporter's ``rewrite-timestamp``.

User-managed: no step 2; the final stage checks that the interpreter exists.
Conda packages beyond ``python`` and ``pip``: step 2 is ``imaging.conda``'s.
The uv binary is a named context (``uv``) bind-mounted into the install step,
so it never lands in a layer.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass

from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.text import redact_url_credentials
from pulumi_mlenv.imaging.layers import LayerGroup
from pulumi_mlenv.imaging.reproducible import fix_step_times

__all__ = [
    "BASE_STAGE",
    "LABEL_PREFIX",
    "LOCK_PATH",
    "LOCK_STAGE",
    "MLENV_ROOT",
    "PINNED_STAGE",
    "PYTHON_PROBE",
    "VENV_PATH",
    "RenderOptions",
    "render",
    "render_pin_step",
    "render_step_one",
    "wants_pre",
    "with_labels",
]

MLENV_ROOT = "/opt/mlenv"
VENV_PATH = f"{MLENV_ROOT}/venv"
LOCK_PATH = f"{MLENV_ROOT}/lock.txt"
#: Where the builder leaves the tree to copy (a root of its own, see below).
OUT_ROOT = "/mlenv-out"
BASE_STAGE = "mlenv-base"
BUILDER_STAGE = "mlenv-builder"
LOCK_STAGE = "mlenv-lock"
VENV_STAGE = "mlenv-venv"
#: Target of the pin build: ``/lock.txt``, the resolver's output.
PINNED_STAGE = "mlenv-pinned"
#: Where a package stage leaves its files (a root of its own, like OUT_ROOT).
LAYER_ROOT = "/mlenv-layer"
LABEL_PREFIX = "org.pulumi-mlenv"
#: Secret ids the install step mounts (see ``build.context``).
SECRET_CA = "ca"
SECRET_REQUIREMENTS = "requirements"
#: Only the option lines of the requirements (index URLs and their tokens).
SECRET_INDEX = "index"
#: Prints the venv's Python version, machine and C library (``imaging.host_resolve``).
PYTHON_PROBE = (
    "import platform; print(platform.python_version()); print(platform.machine());"
    " print(' '.join(platform.libc_ver()))"
)
#: Named build context holding the ``uv`` binary.
UV_CONTEXT = "uv"

_FROM = re.compile(r"^(\s*FROM\s+)(.*?)\s*$", re.IGNORECASE)
_AS = re.compile(r"\s+AS\s+([A-Za-z0-9][A-Za-z0-9_.-]*)\s*$", re.IGNORECASE)
# Strip URL credentials from the frozen lock (``pkg @ https://tok@host/...``).
_REDACT_SED = r"sed -E 's#(://)[^/@ ]+@#\1#g'"


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """What the Dockerfile needs beyond the definition.

    ``base_ref`` is the base image reference to build ``FROM`` (pass it by
    digest so that the build uses what was hashed); ignored when the spec has
    a base Dockerfile. ``installer`` is ``uv`` or ``pip``. ``labels`` are
    extra image labels (hash, recipe, base digest...), rendered sorted.
    """

    base_ref: str
    env_hash: str
    installer: str = "uv"
    labels: tuple[tuple[str, str], ...] = ()
    #: BuildKit cache-mount id of the installer's download cache (benchmarks
    #: use a fresh one to measure a cold build).
    cache_id: str = "mlenv"
    #: The resolved pins laid into layers (uv only; see ``imaging.layers``).
    #: Empty: the environment is installed in one step, one layer.
    layers: tuple[LayerGroup, ...] = ()


def _base_stage(spec: EnvironmentSpec, base_ref: str) -> list[str]:
    text = spec.docker.base_dockerfile
    if not text:
        return [f"FROM {base_ref} AS {BASE_STAGE}"]
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    last = max((i for i, line in enumerate(lines) if _FROM.match(line)), default=None)
    if last is None:  # validation should have caught it; fail in the build, loudly
        return [*lines]
    head = _FROM.match(lines[last])
    assert head is not None
    # The last stage of the user's file becomes ours (its own name, if any,
    # is only usable inside that stage, where nothing refers to it).
    lines[last] = f"{head.group(1)}{_AS.sub('', head.group(2))} AS {BASE_STAGE}"
    return lines


#: The first lines of every install script: strict shell; the CA bundle for
#: an intercepting proxy or private indexes (a secret file); fixed mtimes
#: (set at the end) and no .pyc, for bit-for-bit reproducible layers.
_PROLOGUE = (
    "set -eu",
    "if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca"
    " PIP_CERT=/run/secrets/ca REQUESTS_CA_BUNDLE=/run/secrets/ca; fi",
    "export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0} PYTHONHASHSEED=0",
)
#: uv's settings: an interpreter uv would download must live under
#: /opt/mlenv, the only folder copied to the final image.
_UV_ENV = (
    f"export UV_PYTHON_INSTALL_DIR={MLENV_ROOT}/python UV_LINK_MODE=copy"
    " UV_NO_PROGRESS=1 UV_CACHE_DIR=/root/.cache/uv"
)
_TOUCH = "find {root} -exec touch -h -d @$SOURCE_DATE_EPOCH {{}} +"


def wants_pre(spec: EnvironmentSpec) -> bool:
    """Whether the pip options allow pre-releases (``--pre``)."""
    conda = spec.python.conda
    return bool(conda and "--pre" in map(str.strip, conda.pip_options))


def _install_script(spec: EnvironmentSpec, options: RenderOptions) -> str:
    """The shell run in the builder stage. Secrets are read from /run/secrets;
    nothing secret is ever echoed or written outside the cache mount."""
    py = _python_selector(spec)
    venv_py = f"{VENV_PATH}/bin/python"
    lines = [*_PROLOGUE, f"mkdir -p {MLENV_ROOT}"]
    if options.installer == "pip":
        lines += [
            f"{py} -m venv {VENV_PATH}",
            "export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=/root/.cache/pip",
            f"{venv_py} -m pip install --no-compile {'--pre ' if wants_pre(spec) else ''}"
            f"-r /run/secrets/{SECRET_REQUIREMENTS}",
            f"{venv_py} -m pip freeze --all --exclude pip --exclude setuptools"
            f" | {_REDACT_SED} > {LOCK_PATH}",
        ]
    else:
        lines += [
            _UV_ENV,
            f"uv venv --quiet --python {py} {VENV_PATH}",
            f"uv pip install --python {venv_py} {_pre_flag(spec)}"
            f"-r /run/secrets/{SECRET_REQUIREMENTS}",
            f"uv pip freeze --python {venv_py} | {_REDACT_SED} > {LOCK_PATH}",
        ]
    # The tree moves under OUT_ROOT so that the copied layer's every entry,
    # ``opt/`` included, comes from here; every mtime is fixed here rather than
    # by the exporter (``rewrite-timestamp`` recompresses each layer on export).
    lines += [
        f"mkdir -p {OUT_ROOT}/opt && mv {MLENV_ROOT} {OUT_ROOT}{MLENV_ROOT}",
        _TOUCH.format(root=OUT_ROOT),
    ]
    return "\n".join(lines)


def _uv_run(options: RenderOptions, secrets: tuple[str, ...], script: list[str]) -> list[str]:
    """A RUN with uv, the download cache, the CA and ``secrets`` mounted."""
    mounts = [
        f"--mount=type=bind,from={UV_CONTEXT},source=uv,target=/usr/local/bin/uv",
        f"--mount=type=cache,target=/root/.cache/uv,id={options.cache_id}-uv,sharing=shared",
        f"--mount=type=secret,id={SECRET_CA}",
        *(f"--mount=type=secret,id={sid},required=true" for sid in secrets),
    ]
    return ["RUN " + " \\\n    ".join(mounts) + " <<'MLENV'", *_PROLOGUE, _UV_ENV, *script, "MLENV"]


def _pre_flag(spec: EnvironmentSpec) -> str:
    return "--prerelease=allow " if wants_pre(spec) else ""


def _index_digest(spec: EnvironmentSpec) -> str:
    """A digest of the index options without credentials: keys the package
    stages on where packages come from (secret contents are not keyed)."""
    conda = spec.python.conda
    lines = [redact_url_credentials(o.strip()) for o in (conda.pip_options if conda else ())]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _venv_stage(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    """The empty venv (and any interpreter uv downloads): a layer of its own,
    and the stage every package stage starts from."""
    script = [
        f"uv venv --quiet --python {_python_selector(spec)} {VENV_PATH}",
        f"mkdir -p {OUT_ROOT}/opt && cp -a {MLENV_ROOT} {OUT_ROOT}/opt/",
        _TOUCH.format(root=OUT_ROOT),
    ]
    head = [f"FROM {BASE_STAGE} AS {VENV_STAGE}", "ARG SOURCE_DATE_EPOCH"]
    return head + _uv_run(options, (), script)


def _pin_stages(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    out = f"/{PINNED_STAGE}.txt"
    script = [
        f"uv pip compile --quiet --python {VENV_PATH}/bin/python --no-header --no-annotate"
        f" {_pre_flag(spec)}-o {out} /run/secrets/{SECRET_REQUIREMENTS}",
        f"{_REDACT_SED} -i {out}",
        # What the interpreter is: later builds on this base resolve on the host.
        f"{VENV_PATH}/bin/python -c {shlex.quote(PYTHON_PROBE)} > /{PINNED_STAGE}.python",
    ]
    # The hash keys the resolution on the definition (secrets are not keyed).
    head = [f"FROM {VENV_STAGE} AS mlenv-pin", f"ENV MLENV_HASH={options.env_hash}"]
    return [
        *head,
        *_uv_run(options, (SECRET_REQUIREMENTS,), script),
        "",
        f"FROM scratch AS {PINNED_STAGE}",
        f"COPY --from=mlenv-pin {out} /lock.txt",
        f"COPY --from=mlenv-pin /{PINNED_STAGE}.python /python.txt",
    ]


def _package_stages(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    """One stage per layer group: ``--no-deps`` install of its pins into a
    prefix laid out like the venv (scripts point at the venv's python)."""
    out: list[str] = []
    for group in options.layers:
        script = [
            f"# index options {_index_digest(spec)}",
            f"uv pip install --quiet --no-deps {_pre_flag(spec)}--python {VENV_PATH}/bin/python"
            f" --prefix {LAYER_ROOT}{VENV_PATH} -r /run/secrets/{SECRET_INDEX} "
            + " ".join(shlex.quote(pin) for pin in group.pins),
            _TOUCH.format(root=LAYER_ROOT),
        ]
        out += ["", f"FROM {VENV_STAGE} AS mlenv-pkg-{group.name}", "ARG SOURCE_DATE_EPOCH"]
        out += _uv_run(options, (SECRET_INDEX,), script)
    pins = " ".join(shlex.quote(pin) for group in options.layers for pin in group.pins)
    out += [
        "",
        f"FROM {BASE_STAGE} AS mlenv-lockfile",
        "ARG SOURCE_DATE_EPOCH",
        f"RUN mkdir -p {LAYER_ROOT}{MLENV_ROOT} && printf '%s\\n' {pins} | sort"
        f" > {LAYER_ROOT}{LOCK_PATH} && "
        + _TOUCH.format(root=LAYER_ROOT).replace("$SOURCE_DATE_EPOCH", "${SOURCE_DATE_EPOCH:-0}"),
    ]
    return out


def render_pin_step(spec: EnvironmentSpec, options: RenderOptions) -> str:
    """The Dockerfile of the pin build (uv, system-managed): its
    ``PINNED_STAGE`` holds ``/lock.txt``, every pin of the environment. Its
    base and venv stages are those of ``render``: the build re-uses them."""
    out = render_step_one(spec, options)
    out += ["", "# Resolve the environment (secrets mounted, never copied)."]
    out += [*_venv_stage(spec, options), "", *_pin_stages(spec, options)]
    return "\n".join(out) + "\n"


def _python_selector(spec: EnvironmentSpec) -> str:
    from pulumi_mlenv.definition.pinning import python_version

    version = python_version(spec)
    return f"python{version}" if version and version.count(".") == 1 else "python3"


def _builder_stage(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    cache = (
        f"--mount=type=cache,target=/root/.cache/pip,id={options.cache_id}-pip,sharing=locked"
        if options.installer == "pip"
        else f"--mount=type=cache,target=/root/.cache/uv,id={options.cache_id}-uv,sharing=shared"
    )
    mounts = [
        f"--mount=type=bind,from={UV_CONTEXT},source=uv,target=/usr/local/bin/uv",
        cache,
        f"--mount=type=secret,id={SECRET_CA}",
        f"--mount=type=secret,id={SECRET_REQUIREMENTS},required=true",
    ]
    if options.installer == "pip":
        mounts.pop(0)
    # The hash in the command line makes BuildKit's cache key follow the
    # definition: secret contents are not part of the key.
    return [
        f"FROM {BASE_STAGE} AS {BUILDER_STAGE}",
        "ARG SOURCE_DATE_EPOCH",
        f"ENV MLENV_HASH={options.env_hash}",
        "RUN " + " \\\n    ".join(mounts) + " <<'MLENV'",
        _install_script(spec, options),
        "MLENV",
    ]


def _interpreter_check(path: str) -> str:
    quoted = shlex.quote(path)
    message = shlex.quote(
        f"mlenv: the user-managed interpreter {path} does not exist in the image;"
        " install it in a custom Docker step or fix python.interpreter_path"
    )
    return f"RUN test -x {quoted} || {{ echo {message} >&2; exit 1; }}"


def render_step_one(spec: EnvironmentSpec, options: RenderOptions) -> list[str]:
    """Step 1's lines: the base (by digest, or the user's base Dockerfile
    whose last stage becomes ``mlenv-base``), then the custom steps, every
    ``RUN`` of them wrapped to leave reproducible layers
    (``imaging.reproducible.fix_step_times``)."""
    out = ["# Rendered by pulumi-mlenv. Step 1: base image and custom steps.", ""]
    out += _base_stage(spec, options.base_ref)
    # Each RUN fixes the times of what it changed (imaging.reproducible).
    return fix_step_times(out + [step.rstrip() for step in spec.docker.steps])


def render(spec: EnvironmentSpec, options: RenderOptions) -> str:
    """The Dockerfile text for ``spec``. Deterministic: the same inputs give
    the same text (labels sorted), so the text itself can be recorded.

    With ``options.layers`` (uv), step 2 is a venv stage plus one stage per
    layer group, each ``COPY --link``'ed into the image; otherwise one
    install step (pip, or requirements that are not plain pins)."""
    out = render_step_one(spec, options)
    system = not spec.python.user_managed
    layered = system and bool(options.layers) and options.installer == "uv"
    if layered:
        out += ["", "# Step 2: the Python environment, a layer per distribution."]
        out += _venv_stage(spec, options) + _package_stages(spec, options)
        out += ["", "# The image.", f"FROM {BASE_STAGE}"]
        out.append(f"COPY --link --from={VENV_STAGE} {OUT_ROOT}/ /")
        for group in options.layers:
            out.append(f"COPY --link --from=mlenv-pkg-{group.name} {LAYER_ROOT}/ /")
        out += [
            f"COPY --link --from=mlenv-lockfile {LAYER_ROOT}/ /",
            f"ENV VIRTUAL_ENV={VENV_PATH} PATH={VENV_PATH}/bin:$PATH",
        ]
        return with_labels(out, options)
    if system:
        out += ["", "# Step 2: the Python environment (secrets mounted, never copied)."]
        out += _builder_stage(spec, options) + image_from_stage(BUILDER_STAGE)
        return with_labels(out, options)
    out += ["", "# The image.", f"FROM {BASE_STAGE}"]
    if spec.python.interpreter_path:
        out.append(_interpreter_check(spec.python.interpreter_path))
    return with_labels(out, options)


def image_from_stage(stage: str) -> list[str]:
    """The lock stage and the final image of an environment installed in one
    ``stage`` (left under ``OUT_ROOT``): one layer on the base."""
    return [
        "",
        f"FROM scratch AS {LOCK_STAGE}",
        f"COPY --from={stage} {OUT_ROOT}{LOCK_PATH} /",
        "",
        "# The image.",
        f"FROM {BASE_STAGE}",
        f"COPY --link --from={stage} {OUT_ROOT}/ /",
        f"ENV VIRTUAL_ENV={VENV_PATH} PATH={VENV_PATH}/bin:$PATH",
    ]


def with_labels(out: list[str], options: RenderOptions) -> str:
    """``out`` plus the labels (sorted), as the Dockerfile's text."""
    for key, value in sorted(options.labels):
        out.append(f"LABEL {key}={_label_value(value)}")
    return "\n".join(out) + "\n"


def _label_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
