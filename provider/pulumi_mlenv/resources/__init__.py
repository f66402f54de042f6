"""Pulumi dynamic resources: thin adapters from properties to the service.

from pulumi_mlenv.resources import ComputeTarget, ContainerRegistry, Environment, Run, Workspace
from pulumi_mlenv.resources import Deployment, Endpoint, Model
"""

from pulumi_mlenv.resources.compute_target import ComputeTarget
from pulumi_mlenv.resources.deployment import Deployment
from pulumi_mlenv.resources.endpoint import Endpoint
from pulumi_mlenv.resources.environment import Environment
from pulumi_mlenv.resources.model import Model
from pulumi_mlenv.resources.registry import ContainerRegistry
from pulumi_mlenv.resources.run import Run
from pulumi_mlenv.resources.workspace import Workspace

__all__ = [
    "ComputeTarget",
    "ContainerRegistry",
    "Deployment",
    "Endpoint",
    "Environment",
    "Model",
    "Run",
    "Workspace",
]
