"""Where scripts run: the host (``LocalTarget``), a Docker engine by URL
(``DockerTarget``), a Spark standalone cluster by master URL (``SparkTarget``),
a Ray cluster by Jobs API URL (``RayTarget``).
Each takes a ``Job`` and returns the script's exit code."""

from pulumi_mlenv.compute.docker_target import DockerTarget
from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
from pulumi_mlenv.compute.ray_target import RayTarget
from pulumi_mlenv.compute.spark_target import SparkTarget
from pulumi_mlenv.compute.target import KINDS, ComputeTarget, LocalTarget, parse_target

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
