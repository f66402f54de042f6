"""The resolve before a layered build: on the host when the base's
interpreter is known (``imaging.host_resolve``), else as a pin build of its
own (``dockerfile.render_pin_step``), whose output is every pin."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pulumi_mlenv.definition.pinning import python_version
from pulumi_mlenv.imaging.build_job import ImageBuild, find_uv, secrets_of
from pulumi_mlenv.imaging.buildkit import BuildRequest, ProgressCallback, StepEvent, run_buildctl
from pulumi_mlenv.imaging.dockerfile import (
    PINNED_STAGE,
    SECRET_REQUIREMENTS,
    RenderOptions,
    render_pin_step,
)
from pulumi_mlenv.imaging.host_resolve import (
    facts_path,
    known_facts,
    parse_probe,
    remember,
    resolve_on_host,
)
from pulumi_mlenv.imaging.layer_plan import base_stage_key

__all__ = ["resolve_pins"]

#: Step numbers of the pin build start here in progress events.
_PIN_STEPS = 10_000


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
    probe = out / "python.txt"
    facts = parse_probe(probe.read_text()) if probe.exists() else None
    if facts is not None and not secrets_of(job.spec):
        remember(_facts_path(job), facts)
    return (out / "lock.txt").read_text()


def _facts_path(job: ImageBuild) -> Path:
    return facts_path(
        job.work_dir, base_stage_key(job.spec, job.base_ref), python_version(job.spec) or ""
    )


def resolve_pins(
    job: ImageBuild,
    contexts: dict[str, Path],
    secrets: dict[str, Path],
    progress: ProgressCallback | None,
    docker_config: Path | None,
) -> str:
    """The resolver's output: on the host when an earlier pin build on this
    base said what its interpreter is (``imaging.host_resolve``), else (or
    when that fails) from the pin build."""
    facts = None if secrets_of(job.spec) else known_facts(_facts_path(job))
    if facts is not None:
        conda = job.spec.python.conda
        resolved = resolve_on_host(
            find_uv(),
            secrets[SECRET_REQUIREMENTS],
            facts,
            pre=bool(conda and "--pre" in map(str.strip, conda.pip_options)),
            ca_bundle=job.ca_bundle,
            cache_dir=job.work_dir / "uv-cache",
            out_dir=contexts["dockerfile"].parent,
        )
        if resolved is not None:
            return resolved
    return _pin_dependencies(job, contexts, secrets, progress, docker_config)
