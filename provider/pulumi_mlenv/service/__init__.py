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

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.lazy import lazy_names

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.buildkit import StepEvent
    from pulumi_mlenv.service.image_facts import ImageDetails, image_details
    from pulumi_mlenv.service.images import (
        ENV_REPOSITORY,
        EnsureResult,
        build_plan,
        ensure_image,
        image_name,
        materialize_local,
    )
    from pulumi_mlenv.service.outside import Outside
    from pulumi_mlenv.service.resolved import ResolvedEnvironment, base_image_of, resolve

#: Where each public name lives. Imported on first use, so that a command
#: that needs one use case (``mlenv run list``) does not pay for the image
#: builder's imports.
_HOME = {
    "StepEvent": "pulumi_mlenv.imaging.buildkit",
    "Outside": "pulumi_mlenv.service.outside",
    **dict.fromkeys(
        ("ResolvedEnvironment", "base_image_of", "resolve"), "pulumi_mlenv.service.resolved"
    ),
    **dict.fromkeys(
        ("ENV_REPOSITORY", "EnsureResult", "build_plan", "ensure_image", "image_name",
         "materialize_local"),
        "pulumi_mlenv.service.images",
    ),
    **dict.fromkeys(("ImageDetails", "image_details"), "pulumi_mlenv.service.image_facts"),
}  # fmt: skip


__getattr__ = lazy_names(__name__, _HOME)


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
