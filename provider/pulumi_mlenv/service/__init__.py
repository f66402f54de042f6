"""The use cases, in plain Python: the only room that combines the registry,
the image builder, the workspace and compute. ``resources/`` (the Pulumi
front door) and ``cli/`` (the ``mlenv`` front door) call these and nothing
below them.

- ``resolved``: what ``check`` works out once (definition, base digest,
  hashes) and carries through every later step.
- ``images``: reuse an image by hash or build it, by digest
  (``ensure_image``), and what is known about one (``image_details``).
- ``environments``: inputs -> definition -> image + registered version.
- ``registries``, ``targets``, ``workspaces``: the other resources' use cases.
- ``outside``: the outside world (stores, registries, builders, engines,
  proxy, ports) as one value, ``Outside``; ``compose`` picks the real one.
- ``runs``: environment + compute target + script -> a recorded run
  (``submit``, ``rerun``), with ``run_environments`` (what each kind of
  target needs), ``compute_targets`` and ``sources`` (snapshots by content).
- ``models``, ``deployments``, ``endpoints``: a model's content and lineage;
  serving it; a stable address in front of deployments.
- ``retention`` (gc), ``verify``, ``history``: housekeeping and proofs.
"""

from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.service.images import (
    ENV_REPOSITORY,
    EnsureResult,
    ImageDetails,
    build_plan,
    ensure_image,
    image_details,
    image_name,
    materialize_local,
)
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment, base_image_of, resolve

__all__ = [
    "ENV_REPOSITORY",
    "EnsureResult",
    "ImageDetails",
    "Outside",
    "ResolvedEnvironment",
    "StepEvent",
    "base_image_of",
    "build_plan",
    "ensure_image",
    "image_details",
    "image_name",
    "materialize_local",
    "resolve",
]
