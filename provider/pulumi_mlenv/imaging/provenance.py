"""The provenance of an environment image: an in-toto statement (v1) with a
SLSA provenance (v1) predicate, saying how the image was made.

- ``buildDefinition.externalParameters``: the environment (name, version),
  its definition hash and image hash, the base image as written;
- ``internalParameters``: the build recipe version, the installer, the
  clock (``SOURCE_DATE_EPOCH``);
- ``resolvedDependencies``: the base image by digest, the lock (its sha256
  and its lines);
- ``runDetails.builder``: the BuildKit daemon and its version;
- ``runDetails.byproducts``: the rendered Dockerfile's digest and each
  step with the digest of the layer it made.

Pure: facts in, JSON bytes out; ``check_rebuild`` compares a rebuild with
what a statement says.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILD_TYPE",
    "PREDICATE_TYPE",
    "PROVENANCE_MEDIA_TYPE",
    "STATEMENT_TYPE",
    "ProvenanceFacts",
    "Step",
    "check_rebuild",
    "lock_digest",
    "make_provenance",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: What kind of build this is: the parameters above mean what this URI says.
BUILD_TYPE = "urn:pulumi-mlenv:build-type:environment-image:v1"
#: The builder of an image this process did not build (found in a registry).
UNKNOWN_BUILDER = "urn:pulumi-mlenv:builder:unknown"
#: The media type of an in-toto statement.
PROVENANCE_MEDIA_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True, slots=True)
class Step:
    """One build step: what made a layer (the image history's command) and
    the layer's digest."""

    name: str
    digest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceFacts:
    """What the provenance says about one image."""

    image: str  # registry/repository
    digest: str
    env_hash: str
    definition_hash: str | None
    environment: str | None
    base_image: str | None  # as written (a tag) or by digest
    base_digest: str | None
    recipe: str
    installer: str
    lock: tuple[str, ...]
    dockerfile: str
    steps: tuple[Step, ...]
    builder: str  # the BuildKit address; "" when not built here
    buildkit_version: str | None
    mlenv_version: str
    started: str | None = None
    finished: str | None = None


def lock_digest(lock: Sequence[str]) -> str:
    """``sha256:<hex>`` of the lock as it is in the image (``lock.txt``:
    one line per distribution, each ended by a newline)."""
    text = "".join(f"{line}\n" for line in lock)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _hex(digest: str) -> dict[str, str]:
    algorithm, _, value = digest.partition(":")
    return {algorithm: value}


def make_provenance(facts: ProvenanceFacts) -> bytes:
    """The in-toto statement as JSON bytes (sorted keys: one set of facts,
    one document)."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": facts.image, "digest": _hex(facts.digest)}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "environment": facts.environment,
                    "definitionHash": facts.definition_hash,
                    "imageHash": facts.env_hash,
                    "baseImage": facts.base_image,
                },
                "internalParameters": {
                    "recipe": facts.recipe,
                    "installer": facts.installer,
                    "SOURCE_DATE_EPOCH": "0",
                },
                "resolvedDependencies": _dependencies(facts),
            },
            "runDetails": _run_details(facts),
        },
    }
    return json.dumps(statement, indent=2, sort_keys=True).encode()


def _dependencies(facts: ProvenanceFacts) -> list[dict[str, Any]]:
    """What the build started from: the base image by digest, and the lock."""
    dependencies: list[dict[str, Any]] = []
    if facts.base_digest:
        name = (facts.base_image or "").partition("@")[0]
        dependencies.append(
            {"name": "base-image", "uri": f"oci://{name}", "digest": _hex(facts.base_digest)}
        )
    dependencies.append(
        {
            "name": "lock",
            "uri": "file:///opt/mlenv/lock.txt",
            "digest": _hex(lock_digest(facts.lock)),
            "annotations": {"lines": list(facts.lock)},
        }
    )
    return dependencies


def _run_details(facts: ProvenanceFacts) -> dict[str, Any]:
    """Who built it, when, and what each step made (the Dockerfile too)."""
    dockerfile = "sha256:" + hashlib.sha256(facts.dockerfile.encode()).hexdigest()
    byproducts: list[dict[str, Any]] = []
    if facts.dockerfile:  # unknown for an image found in a registry, not built here
        byproducts.append(
            {"name": "Dockerfile", "digest": _hex(dockerfile), "mediaType": "text/plain"}
        )
    byproducts += [
        {
            "name": f"step {i}",
            "digest": _hex(step.digest),
            "annotations": {"step": step.name},
        }
        for i, step in enumerate(facts.steps)
    ]
    metadata: dict[str, str] = {"invocationId": f"{facts.env_hash}@{facts.digest}"}
    if facts.started:
        metadata["startedOn"] = facts.started
    if facts.finished:
        metadata["finishedOn"] = facts.finished
    version = {"pulumi-mlenv": facts.mlenv_version}
    if facts.buildkit_version:
        version["buildkit"] = facts.buildkit_version
    return {
        "builder": {
            "id": f"buildkit+{facts.builder}" if facts.builder else UNKNOWN_BUILDER,
            "version": version,
        },
        "metadata": metadata,
        "byproducts": byproducts,
    }


def _digest_of(entry: Mapping[str, Any]) -> str:
    digest = entry.get("digest") or {}
    return next((f"{k}:{v}" for k, v in digest.items()), "") if isinstance(digest, dict) else ""


def check_rebuild(
    statement: Mapping[str, Any],
    *,
    digest: str,
    base_digest: str | None,
    lock: Sequence[str],
    steps: Sequence[Step],
) -> list[str]:
    """What a rebuild does not have of what ``statement`` says, one line per
    difference (empty: it matches): the subject digest, the base digest,
    the lock's digest and each step's layer digest."""
    problems: list[str] = []
    subjects = [_digest_of(s) for s in statement.get("subject") or [] if isinstance(s, dict)]
    if digest not in subjects:
        problems.append(f"image digest: provenance says {', '.join(subjects)}, rebuild {digest}")
    predicate = statement.get("predicate") or {}
    deps = {
        str(d.get("name")): _digest_of(d)
        for d in predicate.get("buildDefinition", {}).get("resolvedDependencies") or []
        if isinstance(d, dict)
    }
    if base_digest and deps.get("base-image") and deps["base-image"] != base_digest:
        problems.append(f"base image: provenance says {deps['base-image']}, rebuild {base_digest}")
    if lock and deps.get("lock") and deps["lock"] != lock_digest(lock):
        problems.append(f"lock: provenance says {deps['lock']}, rebuild {lock_digest(lock)}")
    said = [
        (str(b.get("annotations", {}).get("step", "")), _digest_of(b))
        for b in predicate.get("runDetails", {}).get("byproducts") or []
        if isinstance(b, dict) and str(b.get("name", "")).startswith("step ")
    ]
    for i, ((name, recorded), step) in enumerate(zip(said, steps, strict=False)):
        if recorded != step.digest:
            problems.append(
                f"step {i} ({name[:60]}): provenance says {recorded}, rebuild {step.digest}"
            )
    if said and len(said) != len(steps):
        problems.append(f"steps: provenance lists {len(said)}, the rebuild has {len(steps)}")
    return problems
