"""The use cases, in plain Python: the only room that combines the registry,
the image builder, the workspace and compute. ``resources/`` (the Pulumi
front door) and ``cli/`` (the ``mlenv`` front door) call these and nothing
below them.

- ``images``: reuse an image by hash or build it, by digest (``ensure_image``),
  and what is known about one (``image_details``).
- ``environments``: from inputs to a resolved definition, then to an image
  and a registered version.
- ``runs``: environment + compute target + script -> a recorded run
  (``submit``, ``rerun``), with ``run_environments`` (what each kind of
  target needs), ``compute_targets`` and ``sources`` (snapshots by content).
"""

from pulumi_mlenv.service.images import (
    ENV_REPOSITORY,
    EnsureResult,
    ImageDetails,
    base_image_of,
    build_plan,
    ensure_image,
    image_details,
    image_name,
    materialize_local,
    with_base_digest,
)

__all__ = [
    "ENV_REPOSITORY",
    "EnsureResult",
    "ImageDetails",
    "base_image_of",
    "build_plan",
    "ensure_image",
    "image_details",
    "image_name",
    "materialize_local",
    "with_base_digest",
]
