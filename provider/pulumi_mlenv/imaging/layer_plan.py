"""The layers an environment's build makes, named before it runs. Pure.

The same plan serves the builder (which records, per layer, the digest,
size and seconds it got) and the preview (which looks those records up to
say what a replace will cost). A layer has two names:

- its **key**: a digest of everything that shapes its files (the base
  stage, the Python selector, the index options without credentials, its
  pins). Layers are reproducible (``imaging.reproducible``): the same key
  gives the same blob, so a key built before has a known digest and size.
- its **slot**: what it holds, stable across versions of the environment
  (``numpy``, ``group-03-of-05``, ``python venv``, ``lock file``): a key never
  built before is estimated from the last layer built in the same slot.

The base image's own layers are not in the plan (they are pulled, never
built); the custom Docker steps make one layer per ``RUN``/``COPY``/``ADD``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import extra_conda_packages, python_version
from pulumi_mlenv.definition.text import redact_url_credentials
from pulumi_mlenv.imaging.layers import group_pins

__all__ = [
    "PlannedLayer",
    "StageTimes",
    "TimedLayer",
    "base_stage_key",
    "plan_layers",
    "step_layer_count",
]

#: Bump when the layout of the build changes: older records stop matching.
_LAYOUT = "1"
_LAYER_STEP = re.compile(r"^\s*(RUN|COPY|ADD)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PlannedLayer:
    """One layer the build makes, in image order."""

    slot: str
    key: str


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps([_LAYOUT, *parts]).encode()).hexdigest()


def base_stage_key(spec: EnvironmentSpec, base_ref: str) -> str:
    """What every layer above the base stage is built on: the base (by
    digest, or the base Dockerfile and its context's fingerprint) and the
    custom steps."""
    docker = spec.docker
    files = [str(f) for f in docker.context_files or ()]
    return _digest("base", base_ref, docker.base_dockerfile or "", files, list(docker.steps))


def step_layer_count(steps: tuple[str, ...]) -> int:
    """Layers the custom Docker steps make (one per ``RUN``/``COPY``/``ADD``)."""
    return sum(1 for step in steps if _LAYER_STEP.match(step))


def _python_selector(spec: EnvironmentSpec) -> str:
    return python_version(spec) or ""


def _index_options(spec: EnvironmentSpec) -> list[str]:
    conda = spec.python.conda
    return [redact_url_credentials(o.strip()) for o in (conda.pip_options if conda else ())]


def plan_layers(
    spec: EnvironmentSpec,
    *,
    base_ref: str,
    env_hash: str,
    pins: tuple[str, ...] | None,
    installer: str = "uv",
) -> tuple[PlannedLayer, ...]:
    """The layers ``imaging.builder.build_image`` makes for ``spec`` above
    the base image, in image order. ``pins`` are the resolved ``name==version``
    lines when every requirement is a plain pin (the layered build), None
    otherwise (one layer holds the whole environment, keyed by the hash)."""
    base = base_stage_key(spec, base_ref)
    layers: list[PlannedLayer] = []
    steps = spec.docker.steps
    for i in range(step_layer_count(steps)):
        layers.append(PlannedLayer(f"docker step {i + 1}", _digest("step", base, i)))
    if spec.python.user_managed:
        if spec.python.interpreter_path:
            layers.append(PlannedLayer("interpreter check", _digest("check", base)))
        return tuple(layers)
    conda = bool(extra_conda_packages(spec))
    if installer != "uv" or conda or not pins:
        # One install step: its files follow the whole definition.
        return (*layers, PlannedLayer("python environment", _digest("env", base, env_hash)))
    python, index = _python_selector(spec), _index_options(spec)
    layers.append(PlannedLayer("python venv", _digest("venv", base, python)))
    for group in group_pins(pins):
        key = _digest("pkg", base, python, index, group.name, list(group.pins))
        layers.append(PlannedLayer(group.name, key))
    layers.append(PlannedLayer("lock file", _digest("lock", base, list(pins))))
    return tuple(layers)


#: A build step's name as BuildKit's Dockerfile frontend gives it:
#: ``[mlenv-pkg-numpy 2/2] RUN ...`` (``pin `` first for the pin build's).
_VERTEX = re.compile(r"^(?:pin )?\[(?P<stage>[^\s\]]+) (?P<index>\d+)/\d+\] (?P<op>RUN|COPY|ADD)\b")


@dataclass(frozen=True, slots=True)
class TimedLayer:
    """A planned layer and the seconds its step took in this build (None:
    BuildKit had it cached, or no step of the build made it)."""

    slot: str
    key: str
    seconds: float | None


class StageTimes:
    """Collects, from a build's step events, the seconds each stage's steps
    took (by stage name and step index)."""

    def __init__(self) -> None:
        #: ``(stage, step index)`` -> seconds; None for a cached step.
        self.seconds: dict[tuple[str, int], float | None] = {}

    def add(self, name: str, status: str, seconds: float | None) -> None:
        """One step event (``imaging.buildkit.StepEvent``'s fields)."""
        found = _VERTEX.match(name)
        if found is None:
            return
        key = (found["stage"], int(found["index"]))
        if status == "done" and seconds is not None:
            self.seconds[key] = (self.seconds.get(key) or 0.0) + seconds
        elif status == "cached":
            self.seconds.setdefault(key, None)

    def of_stage(self, stage: str) -> float | None:
        """The seconds of the steps of ``stage`` that ran; None when none ran."""
        found = [s for (name, _), s in self.seconds.items() if name == stage and s is not None]
        return round(sum(found), 3) if found else None

    def timed(self, plan: tuple[PlannedLayer, ...], base_stage: str) -> tuple[TimedLayer, ...]:
        """``plan`` with each layer's seconds: docker steps from
        ``base_stage``'s layer steps in order, the others from their stage."""
        step_times = [s for (name, _), s in sorted(self.seconds.items()) if name == base_stage]
        stages = {
            "python venv": "mlenv-venv",
            "lock file": "mlenv-lockfile",
            "python environment": "mlenv-builder",
        }
        out: list[TimedLayer] = []
        step = 0
        for layer in plan:
            if layer.slot.startswith("docker step "):
                seconds = step_times[step] if step < len(step_times) else None
                step += 1
            else:
                seconds = self.of_stage(stages.get(layer.slot, f"mlenv-pkg-{layer.slot}"))
            out.append(TimedLayer(layer.slot, layer.key, seconds))
        return tuple(out)
