"""Where scripts run: the host (``LocalTarget``) or a Docker engine by URL (``DockerTarget``)."""

from pulumi_mlenv.compute.docker_target import DockerTarget
from pulumi_mlenv.compute.target import KINDS, ComputeTarget, LocalTarget, parse_target

__all__ = ["KINDS", "ComputeTarget", "DockerTarget", "LocalTarget", "parse_target"]
