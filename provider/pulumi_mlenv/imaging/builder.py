"""Build one environment image and push it: render, prepare the context and
the secrets, run BuildKit, then read back the lock.

The build context holds only the Dockerfile, or is the user's own folder (a
base Dockerfile's COPY sources, checked against the hashed fingerprint
first; the Dockerfile then comes from a folder of its own). The uv binary is
a separate named context; the requirements (with any index credentials) and
the CA bundle are secret files that live for the duration of the build only, in a
private temporary folder, and never enter a layer, the history or the log.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

from pulumi_mlenv.definition.build_context import changed_files
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import extra_conda_packages
from pulumi_mlenv.errors import BuildError, SpecError
from pulumi_mlenv.imaging.build_job import (
    DEFAULT_COMPRESSION,
    BuiltImage,
    ImageBuild,
    find_uv,
    secrets_of,
)
from pulumi_mlenv.imaging.buildkit import (
    BuildOutcome,
    BuildRequest,
    ProgressCallback,
    StepEvent,
    run_buildctl,
)
from pulumi_mlenv.imaging.conda import find_missing_tool_message, render_conda
from pulumi_mlenv.imaging.dockerfile import (
    BASE_STAGE,
    LOCK_STAGE,
    SECRET_CA,
    SECRET_INDEX,
    SECRET_REQUIREMENTS,
    UV_CONTEXT,
    RenderOptions,
    render,
    render_step_one,
)
from pulumi_mlenv.imaging.layer_plan import StageTimes, plan_layers
from pulumi_mlenv.imaging.layers import group_pins, pinned_lock
from pulumi_mlenv.imaging.lock import parse_lock
from pulumi_mlenv.imaging.pin_step import resolve_pins
from pulumi_mlenv.imaging.reproducible import needs_rewrite_timestamp
from pulumi_mlenv.imaging.vault import build_folders

__all__ = [
    "DEFAULT_COMPRESSION",
    "BuiltImage",
    "ImageBuild",
    "build_image",
    "find_uv",
    "index_text",
    "requirements_text",
    "secrets_of",
]

_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$")


def index_text(spec: EnvironmentSpec) -> str:
    """Only the option lines of ``requirements_text`` (index URLs, with any
    credentials): what a package stage needs besides its pins. A secret."""
    conda = spec.python.conda
    options = [o.strip() for o in (conda.pip_options if conda else ()) if o.strip() != "--pre"]
    return "\n".join(options) + "\n"


def requirements_text(spec: EnvironmentSpec) -> str:
    """The requirements file the installer reads: option lines (index URLs,
    find-links) then requirements, in the written order. ``--pre`` is passed
    on the command line instead (uv does not read it from a file). May hold
    credentials: it is only ever a build secret."""
    conda = spec.python.conda
    if conda is None:
        return ""
    options = [o.strip() for o in conda.pip_options if o.strip() != "--pre"]
    return "\n".join([*options, *conda.pip]) + "\n"


def _uv_context(work_dir: Path) -> Path:
    """A folder holding only ``uv`` (a hard link when possible), reused."""
    source = Path(find_uv())
    stat = source.stat()
    folder = work_dir / "uv-context" / f"{stat.st_size}-{int(stat.st_mtime)}"
    target = folder / "uv"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # A name no other process (nor a killed one's leftover) can hold.
        tmp = folder / f".uv.{os.getpid()}.{os.urandom(4).hex()}"
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copy2(source, tmp)
        os.replace(tmp, target)
    return folder


def _image_output(
    name: str, compression: str, push: bool = True, *, rewrite_timestamp: bool = False
) -> str:
    host = name.split("/", 1)[0]
    insecure = ",registry.insecure=true" if _LOOPBACK.match(host) else ""
    # Only for steps whose times cannot be fixed inside the step (COPY/ADD):
    # the exporter then recompresses this build's layers (imaging.reproducible).
    clamp = ",rewrite-timestamp=true" if rewrite_timestamp else ""
    return (
        f"type=image,name={name},push={'true' if push else 'false'}{insecure}"
        f",oci-mediatypes=true,compression={compression},force-compression=true{clamp}"
    )


def _docker_config(root: Path, logins: tuple[tuple[str, str, str], ...]) -> Path | None:
    """A private Docker config folder with the registry logins, or None.
    buildctl reads it to answer the daemon's auth challenges; it never enters
    the build, and it is deleted with ``root``."""
    if not logins:
        return None
    folder = root / "docker-config"
    folder.mkdir(mode=0o700)
    auths = {
        host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        for host, user, password in logins
    }
    _secret_file(folder, "config", json.dumps({"auths": auths})).rename(folder / "config.json")
    return folder


def _secret_file(root: Path, name: str, text: str) -> Path:
    path = root / f"{name}.secret"
    path.touch(mode=0o600)
    path.write_text(text)
    return path


def _run(
    request: BuildRequest,
    metadata: Path,
    progress: ProgressCallback | None,
    redact: list[str],
    *,
    conda: bool,
) -> BuildOutcome:
    """Run the image build; a conda build whose probe found no tool raises
    the probe's message as a ``SpecError`` instead of the raw log."""
    try:
        return run_buildctl(request, metadata_file=metadata, progress=progress, redact=redact)
    except BuildError as exc:
        message = find_missing_tool_message(exc.log_tail) if conda else None
        if message is None:
            raise
        what, _, fix = message.partition("; ")  # str(Problem) gives the same text back
        raise SpecError.at(
            "python.conda.dependencies", what, fix, heading="cannot build on this base image"
        ) from None


def _checked_context(spec: EnvironmentSpec) -> Path:
    """The build context folder, unless it changed since it was hashed (then
    this image would carry files its hash does not name)."""
    moved = changed_files(spec)
    if moved:
        raise BuildError(
            "the build context changed since the definition was hashed ("
            + ", ".join(moved[:5])
            + (", ..." if len(moved) > 5 else "")
            + "): run again to hash and build what is there now"
        )
    return Path(spec.docker.build_context or "")


def build_image(job: ImageBuild, *, progress: ProgressCallback | None = None) -> BuiltImage:
    """Build and push ``job``; raise ``BuildError`` (nothing pushed under the
    tag: BuildKit pushes only after every step succeeded) or ``EngineError``.

    With uv, the environment is resolved first (a small build of its own),
    then laid into a layer per distribution (``imaging.layers``); the lock is
    the resolver's output. Otherwise it is installed in one step and the lock
    is read back from the image's ``lock.txt``. With conda packages beyond
    ``python`` and ``pip``, the base image's micromamba or conda makes the
    environment (``imaging.conda``); a base with neither raises ``SpecError``
    from the build's first step 2 command, before any download."""
    system = not job.spec.python.user_managed
    conda = system and bool(extra_conda_packages(job.spec))
    job.work_dir.mkdir(parents=True, exist_ok=True)
    redact = secrets_of(job.spec)
    times = StageTimes()

    def timed(event: StepEvent) -> None:
        times.add(event.name, event.status, event.seconds)
        if progress is not None:
            progress(event)

    with build_folders(job.work_dir, "build") as (root, private):
        context = root / "context"
        context.mkdir()
        contexts: dict[str, Path] = {"context": context, "dockerfile": context}
        if job.spec.docker.build_context:
            # The user's build context (what their Dockerfile COPYs), checked
            # against the fingerprint the hash was made of.
            contexts["context"] = _checked_context(job.spec)
        secrets: dict[str, Path] = {}
        pins: tuple[str, ...] | None = None
        docker_config = _docker_config(private, job.registry_auth)
        if system:
            secrets[SECRET_REQUIREMENTS] = _secret_file(
                private, "requirements", requirements_text(job.spec)
            )
            secrets[SECRET_INDEX] = _secret_file(private, "index", index_text(job.spec))
            # An empty file when there is no bundle.
            ca = secrets[SECRET_CA] = _secret_file(private, "ca", "")
            if job.ca_bundle:
                shutil.copyfile(job.ca_bundle, ca)
            if job.installer == "uv":
                contexts[UV_CONTEXT] = _uv_context(job.work_dir)
            if job.installer == "uv" and not conda:
                resolved = resolve_pins(job, contexts, secrets, timed, docker_config)
                pins = pinned_lock(resolved)
        options = RenderOptions(
            base_ref=job.base_ref,
            env_hash=job.env_hash,
            installer=job.installer,
            labels=job.labels,
            cache_id=job.cache_id,
            layers=group_pins(pins) if pins else (),
        )
        dockerfile = render_conda(job.spec, options) if conda else render(job.spec, options)
        (context / "Dockerfile").write_text(dockerfile)
        request = BuildRequest(
            buildkit_host=job.buildkit_host,
            contexts=contexts,
            output=_image_output(
                job.image_name,
                job.compression,
                job.push,
                rewrite_timestamp=needs_rewrite_timestamp(render_step_one(job.spec, options)),
            ),
            secrets=secrets,
            build_args={"SOURCE_DATE_EPOCH": "0"},
            no_cache=job.no_cache,
            docker_config=docker_config,
        )
        outcome = _run(request, root / "metadata.json", timed, redact, conda=conda)
        if outcome.digest is None:
            raise BuildError("the build pushed no image (no digest in its metadata)")
        lock: tuple[str, ...] = parse_lock("\n".join(pins)) if pins else ()
        if system and not pins:
            out = root / "lock-out"
            lock_request = BuildRequest(
                buildkit_host=job.buildkit_host,
                contexts=contexts,
                output=f"type=local,dest={out}",
                secrets=secrets,
                build_args={"SOURCE_DATE_EPOCH": "0"},
                target=LOCK_STAGE,
                docker_config=docker_config,
            )
            run_buildctl(lock_request, metadata_file=root / "lock-meta.json", redact=redact)
            lock = parse_lock((out / "lock.txt").read_text())
    plan = plan_layers(
        job.spec, base_ref=job.base_ref, env_hash=job.env_hash, pins=pins, installer=job.installer
    )
    layers = times.timed(plan, BASE_STAGE)
    return BuiltImage(outcome.digest, dockerfile, lock, outcome.seconds, outcome.log_tail, layers)
