"""Where scripts run: the host (``LocalTarget``), a Docker engine by URL
(``DockerTarget``), a Spark standalone cluster by master URL (``SparkTarget``),
a Ray cluster by Jobs API URL (``RayTarget``).
Each takes a ``Job`` and returns the script's exit code.

Public names are imported on first use: a run on the host does not load
the Docker, Spark and Ray targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.lazy import lazy_names

if TYPE_CHECKING:
    from pulumi_mlenv.compute.docker_target import DockerTarget
    from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
    from pulumi_mlenv.compute.ray_target import RayTarget
    from pulumi_mlenv.compute.spark_target import SparkTarget
    from pulumi_mlenv.compute.target import KINDS, ComputeTarget, LocalTarget, parse_target

_HOME = {
    "DockerTarget": "pulumi_mlenv.compute.docker_target",
    **dict.fromkeys(("OUTPUTS_VARIABLE", "Job", "Sink"), "pulumi_mlenv.compute.job"),
    "RayTarget": "pulumi_mlenv.compute.ray_target",
    "SparkTarget": "pulumi_mlenv.compute.spark_target",
    **dict.fromkeys(
        ("KINDS", "ComputeTarget", "LocalTarget", "parse_target"), "pulumi_mlenv.compute.target"
    ),
}


__getattr__ = lazy_names(__name__, _HOME)


__all__ = [
    "KINDS",
    "OUTPUTS_VARIABLE",
    "ComputeTarget",
    "DockerTarget",
    "Job",
    "LocalTarget",
    "RayTarget",
    "Sink",
    "SparkTarget",
    "parse_target",
]
