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
from dataclasses import dataclass, field, replace
from pathlib import Path

from pulumi_mlenv.definition.build_context import changed_files
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import extra_conda_packages
from pulumi_mlenv.errors import BuildError, SpecError
from pulumi_mlenv.imaging.buildkit import (
    BuildOutcome,
    BuildRequest,
    ProgressCallback,
    StepEvent,
    run_buildctl,
)
from pulumi_mlenv.imaging.conda import find_missing_tool_message, render_conda
from pulumi_mlenv.imaging.dockerfile import (
    LOCK_STAGE,
    PINNED_STAGE,
    SECRET_CA,
    SECRET_INDEX,
    SECRET_REQUIREMENTS,
    UV_CONTEXT,
    RenderOptions,
    render,
    render_pin_step,
    render_step_one,
)
from pulumi_mlenv.imaging.layers import group_pins, pinned_lock
from pulumi_mlenv.imaging.lock import parse_lock
from pulumi_mlenv.imaging.reproducible import needs_rewrite_timestamp
from pulumi_mlenv.imaging.vault import vault, work_folder

__all__ = [
    "BuiltImage",
    "ImageBuild",
    "build_image",
    "find_uv",
    "index_text",
    "requirements_text",
    "secrets_of",
]

#: Layer compression for pushed images; see docs/building.md for the measurements.
DEFAULT_COMPRESSION = "gzip,compression-level=1"
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/@\s]+)@")
#: Step numbers of the pin build start here in progress events.
_PIN_STEPS = 10_000
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBuild:
    """One build to run: what to build and where to push it.

    ``image_name`` is ``registry/repository:tag``; ``base_ref`` the base by
    digest; ``no_cache`` ignores BuildKit's layer cache (forced rebuilds)."""

    spec: EnvironmentSpec
    env_hash: str
    image_name: str
    base_ref: str
    buildkit_host: str
    work_dir: Path
    installer: str = "uv"
    ca_bundle: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    #: ``(host, username, password)`` logins for the push (and base) registries.
    registry_auth: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    compression: str = DEFAULT_COMPRESSION
    cache_id: str = "mlenv"
    push: bool = True


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """A pushed image: manifest digest, rendered Dockerfile, lock, seconds."""

    digest: str
    dockerfile: str
    lock: tuple[str, ...]
    seconds: float
    log_tail: str


def find_uv() -> str:
    """The uv binary the build copies in (as a named context, not a layer);
    ``BuildError`` when it is outside the recipe's range (imaging.installer)."""
    from pulumi_mlenv.imaging.installer import check_uv

    try:
        import uv

        found = str(uv.find_uv_bin())
        if found:
            return check_uv(found)
    except (ImportError, FileNotFoundError):
        pass
    which = shutil.which("uv")
    if which:
        return check_uv(which)
    raise BuildError("uv not found: install the 'uv' package or set MLENV_INSTALLER=pip")


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


def secrets_of(spec: EnvironmentSpec) -> list[str]:
    """Credential strings found in URLs of the definition (to redact from logs)."""
    conda = spec.python.conda
    if conda is None:
        return []
    found: list[str] = []
    for text in (*conda.pip_options, *conda.pip):
        for userinfo in _USERINFO.findall(text):
            found += [userinfo, *userinfo.split(":", 1)]
    return [s for s in found if len(s) >= 4]


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


def _pin_dependencies(
    job: ImageBuild,
    contexts: dict[str, Path],
    secrets: dict[str, Path],
    progress: ProgressCallback | None,
    docker_config: Path | None,
) -> str:
    """Run the pin build; return the resolver's output (every pin). Its
    steps are reported numbered from ``_PIN_STEPS`` (distinct from the
    image build's)."""
    root = contexts["dockerfile"].parent
    folder = root / "resolve"
    folder.mkdir()
    options = RenderOptions(
        base_ref=job.base_ref, env_hash=job.env_hash, labels=(), cache_id=job.cache_id
    )
    (folder / "Dockerfile").write_text(render_pin_step(job.spec, options))
    out = root / "resolved"
    request = BuildRequest(
        buildkit_host=job.buildkit_host,
        contexts={**contexts, "dockerfile": folder},
        output=f"type=local,dest={out}",
        secrets=secrets,
        build_args={"SOURCE_DATE_EPOCH": "0"},
        target=PINNED_STAGE,
        no_cache=job.no_cache,
        docker_config=docker_config,
    )

    def relay(event: StepEvent) -> None:
        if progress is not None:
            name = f"pin {event.name}"
            progress(replace(event, number=_PIN_STEPS + event.number, name=name))

    run_buildctl(
        request,
        metadata_file=root / "resolve-meta.json",
        progress=relay,
        redact=secrets_of(job.spec),
    )
    return (out / "lock.txt").read_text()


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
    with (
        work_folder(job.work_dir, "build") as tmp,
        vault("build") as private,  # the secret files: in memory, never on disk
    ):
        root = Path(tmp)
        os.chmod(root, 0o700)
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
                resolved = _pin_dependencies(job, contexts, secrets, progress, docker_config)
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
        outcome = _run(request, root / "metadata.json", progress, redact, conda=conda)
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
    return BuiltImage(outcome.digest, dockerfile, lock, outcome.seconds, outcome.log_tail)
