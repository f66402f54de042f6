"""The hash of a definition (reuse by hash): sha256 over a canonical JSON of exactly
what shapes the image. See docs/hash.md for the list and its reasons.

Identity: kind, base image as written, its resolved digest (a base tag is resolved to a digest),
base
Dockerfile text, the files of its build context (path, executable bit,
content digest: read beforehand by ``spec.build_context``), custom Docker
steps, platform, conda channels, conda
dependencies, pip options (credentials removed), pip requirements, Spark
repositories (credentials removed), Spark packages, Spark pre-caching, and
``RECIPE_VERSION``. Lists keep their order (reuse by hash: order matters).

Not identity: name, version, description, tags, environment variables,
interpreter path, conda environment name, shm size, docker run arguments,
credentials inside URLs. Empty fields are left out of the JSON, so adding a new
optional field to the model does not move existing hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from typing import Any

from packaging.requirements import InvalidRequirement

from pulumi_mlenv.definition.conda_specs import canonical_conda_spec
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pip_requirements import canonical_requirement
from pulumi_mlenv.definition.text import (
    canonical_dockerfile,
    canonical_step,
    redact_url_credentials,
)
from pulumi_mlenv.errors import SpecError

__all__ = [
    "RECIPE_VERSION",
    "UV_VERSIONS",
    "canonical_form",
    "compute_hash",
    "with_resolved_base",
]

#: Bump only when the build recipe (Dockerfile rendering, installer flags)
#: changes the images it produces: every hash moves, every image is rebuilt.
#: 4: Docker steps fix their files' times, conda's history is unstamped
#: (docs/reproducibility.md).
RECIPE_VERSION = "4"

#: The uv versions this recipe builds with. The installer resolves unpinned
#: packages and lays out the virtualenv, so it shapes the image as much as
#: the Dockerfile does: the range is part of the recipe. A uv outside it is
#: refused (imaging.installer), and moving the range is a recipe change:
#: bump ``RECIPE_VERSION`` with it (docs/hash.md;
#: tests/definition/test_spec_hash_stable.py holds the pair).
UV_VERSIONS = ">=0.13,<0.14"

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _pip(text: str) -> str:
    try:
        return redact_url_credentials(canonical_requirement(text))
    except InvalidRequirement:  # a spec built by hand, not by parse_definition
        return redact_url_credentials(text.strip())


def canonical_form(spec: EnvironmentSpec, *, recipe: str = RECIPE_VERSION) -> dict[str, Any]:
    """The hash inputs as a flat mapping of plain JSON values.

    Pure and cheap: strings are canonicalised again (cached), so a spec built
    by hand hashes like the same spec parsed from YAML. ``recipe`` exists for
    comparing with hashes made by an older recipe; leave it alone otherwise.
    """
    d = spec.docker
    conda = spec.python.conda
    form: dict[str, Any] = {"recipe": recipe, "kind": spec.kind.value}
    if d.base_image:
        form["base_image"] = d.base_image.strip()
    if d.resolved_base_digest:
        form["base_digest"] = d.resolved_base_digest
    if d.base_dockerfile:
        form["base_dockerfile"] = canonical_dockerfile(d.base_dockerfile)
    if d.steps:
        form["docker_steps"] = [canonical_step(s) for s in d.steps]
    if d.platform:
        form["platform"] = d.platform.strip()
    if d.build_context:
        if d.context_files is None:  # hashing without it would reuse stale images
            raise SpecError.at(
                "docker.build_context",
                "has not been read, so the hash cannot cover it",
                "load the definition with load_definition (or fingerprint_build_context)",
            )
        if d.context_files:
            form["build_context"] = [str(f) for f in d.context_files]
    if conda is not None:
        if conda.channels:
            form["conda_channels"] = [c.strip() for c in conda.channels]
        if conda.dependencies:
            form["conda_dependencies"] = [
                canonical_conda_spec(s) or s.strip() for s in conda.dependencies
            ]
        if conda.pip_options:
            form["pip_options"] = [redact_url_credentials(o.strip()) for o in conda.pip_options]
        if conda.pip:
            form["pip"] = [_pip(p) for p in conda.pip]
    s = spec.spark
    if s.repositories:
        form["spark_repositories"] = [redact_url_credentials(r.strip()) for r in s.repositories]
    if s.packages:
        form["spark_packages"] = [str(p) for p in s.packages]
        form["spark_precache"] = s.precache_packages
    return form


def compute_hash(spec: EnvironmentSpec, *, recipe: str = RECIPE_VERSION) -> str:
    """sha256 hex of the canonical form as compact, key-sorted JSON. No I/O."""
    text = json.dumps(
        canonical_form(spec, recipe=recipe),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_resolved_base(spec: EnvironmentSpec, digest: str | None) -> EnvironmentSpec:
    """The same definition with the digest its base tag resolved to (a base tag is resolved to a
    digest), or
    without one (``None``). The digest is part of the hash: a moved tag makes
    a new hash. Raises ``SpecError`` when ``digest`` is not ``sha256:<64 hex>``."""
    if digest is not None and not _DIGEST.fullmatch(digest):
        raise SpecError.at(
            "docker.resolved_base_digest",
            f"'{digest}' is not a digest",
            "expected 'sha256:' followed by 64 lowercase hex digits",
        )
    return replace(spec, docker=replace(spec.docker, resolved_base_digest=digest))
