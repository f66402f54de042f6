"""Placeholder quickstart until the Environment resource lands."""

import pulumi

pulumi.export("status", "ok")
