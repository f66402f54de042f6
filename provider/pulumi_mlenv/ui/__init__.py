"""The page front door: ``mlenv ui`` serves read-only web pages over the
workspace (environments and what changed between their versions, runs with
their logs and outputs, models with their lineage, deployments and
endpoints with their weights, and the lineage picture).

``views`` and ``lineage`` are pure (service records -> what a page shows);
``app`` holds the routes and templates; ``server`` binds 127.0.0.1 and
serves. Like ``cli/`` and ``resources/``, this room reads the workspace
only through the service.
"""

from pulumi_mlenv.ui.app import create_app
from pulumi_mlenv.ui.server import Served, serve

__all__ = ["Served", "create_app", "serve"]
