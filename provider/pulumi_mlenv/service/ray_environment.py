"""How an environment reaches a Ray cluster, and what the run records of it.

The environment's virtualenv (keyed by hash, made once) runs the driver and
every worker through ``py_executable``: nodes share the filesystem that
holds the per-user cache. Ray itself is not in the environment's hash: a
layer over the virtualenv adds the cluster's Ray version
(``imaging.ray_layer``), and the run records what it added apart from the
environment's lock. An environment that pins another Ray version than the
cluster's is refused before anything is built or started, naming both.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pulumi_mlenv.compute import Job, RayTarget, Sink
from pulumi_mlenv.compute.ray_target import job_id
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.service.compose import outside_or_real

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import Outside

__all__ = ["check_ray_pins", "ray_details", "ray_job"]

#: How the environment travelled, in the run record.
DELIVERY = "py_executable"


def _refuse(pinned: str, cluster: str, url: str) -> SpecError:
    return SpecError.at(
        "python.conda.dependencies",
        f"the environment pins ray {pinned} but the cluster at {url} runs Ray {cluster}",
        f"pin ray=={cluster}, or leave ray out (the target adds the cluster's own)",
    )


def check_ray_pins(spec: EnvironmentSpec, cluster_version: str, url: str) -> None:
    """Refuse a definition whose pip list asks for a Ray the cluster does not run."""
    conda = spec.python.conda
    for line in conda.pip if conda else ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) != "ray":
            continue
        if req.url or not req.specifier.contains(cluster_version, prereleases=True):
            raise _refuse(str(req.specifier or req.url), cluster_version, url)


def ray_details(
    *, run_name: str, ray_version: str, python: str, added: tuple[str, ...], layer: bool
) -> dict[str, Any]:
    """What a Ray run records beside the environment's lock."""
    return {
        "ray_job_id": job_id(run_name),
        "ray_version": ray_version,
        "environment_delivery": DELIVERY,
        "python": python,
        "added": list(added),
        "layer": layer,
    }


def ray_job(
    target: RayTarget,
    base: Job,
    python: str,
    lock: tuple[str, ...],
    *,
    label: str,
    user_managed: bool,
    settings: Settings,
    on_progress: Sink,
    outside: Outside | None = None,
) -> tuple[Job, dict[str, Any]]:
    """The job for ``target``: the environment's interpreter (a layer with the
    cluster's ray when the environment has none), and what the run records."""
    from pulumi_mlenv.imaging.ray_layer import pinned_ray

    version = target.ray_version()
    pinned = pinned_ray(lock)
    if pinned is not None and pinned != version:
        raise _refuse(f"=={pinned}", version, target.url)
    if user_managed:  # used as it is: it must have ray itself
        details = ray_details(
            run_name=base.name, ray_version=version, python=python, added=(), layer=False
        )
        return replace(base, python=python), details
    venv = Path(python).parent.parent
    cache = Path(settings.cache_dir).expanduser()
    layer_path = cache / "ray" / "layers" / f"{venv.name}-ray-{version}"
    if pinned is None and not (layer_path / ".mlenv-complete").exists():
        on_progress(f"adding ray=={version} beside {label} (once)")
    layer = outside_or_real(outside).ray_layer(venv, lock, version, cache)
    details = ray_details(
        run_name=base.name,
        ray_version=version,
        python=str(layer.python),
        added=layer.added,
        layer=layer.python != Path(python),
    )
    return replace(base, python=str(layer.python)), details
