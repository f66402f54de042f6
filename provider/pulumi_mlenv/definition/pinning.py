"""Questions the build asks of a definition: what is unpinned (unpinned packages are locked), which
Python it wants, and whether it needs conda at all."""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement

from pulumi_mlenv.definition.conda_specs import (
    canonical_conda_spec,
    conda_spec_name,
    conda_spec_version,
    is_pinned_conda_spec,
)
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pip_requirements import canonical_requirement, is_pinned_requirement

__all__ = ["extra_conda_packages", "python_version", "unpinned_packages"]

_TOOLS = frozenset({"python", "pip"})
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def _conda_specs(spec: EnvironmentSpec) -> list[str]:
    conda = spec.python.conda
    if conda is None:
        return []
    return [canonical_conda_spec(d) or d.strip() for d in conda.dependencies]


def unpinned_packages(spec: EnvironmentSpec) -> list[str]:
    """Requirements that allow more than one version (unpinned packages are locked), in written
    order:
    conda specs first, then pip. ``python`` and ``pip`` are not counted (the
    Python line is a choice of interpreter, pip is a tool). A build should warn
    about these and record the versions it got."""
    out = [
        d
        for d in _conda_specs(spec)
        if conda_spec_name(d) not in _TOOLS and not is_pinned_conda_spec(d)
    ]
    conda = spec.python.conda
    for req in conda.pip if conda else ():
        try:
            canonical = canonical_requirement(req)
        except InvalidRequirement:
            out.append(req)
            continue
        if not is_pinned_requirement(canonical):
            out.append(canonical)
    return out


def python_version(spec: EnvironmentSpec) -> str | None:
    """The Python version asked by a conda ``python`` dependency
    (``python=3.11``, ``python==3.11.*``, ``python 3.11.9``) as ``3.11`` /
    ``3.11.9``; None when there is no such dependency or it is a range."""
    for d in _conda_specs(spec):
        if conda_spec_name(d) != "python":
            continue
        version = conda_spec_version(d)
        if version is None:
            return None
        bare = version.removeprefix("==").removeprefix("=").removesuffix("*").removesuffix(".")
        return bare if _VERSION.fullmatch(bare) else None
    return None


def extra_conda_packages(spec: EnvironmentSpec) -> tuple[str, ...]:
    """Conda dependencies beyond ``python`` and ``pip``: when empty, the build
    can use a plain virtualenv and needs no conda/micromamba."""
    return tuple(d for d in _conda_specs(spec) if conda_spec_name(d) not in _TOOLS)
