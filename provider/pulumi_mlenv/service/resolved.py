"""An environment as ``check`` works it out, once: the definition with its
base tag resolved to a digest, its hashes, and what follows from them.

The value travels from ``check`` through ``diff``, ``create`` and the
service (``ensure_image``, registration) without being recomputed: the
provider stores it in the checked inputs (``state()``) and reads it back
once per call (``from_state``). Two hashes, two names:

- the **definition hash**: what ``mlenv env hash FILE`` prints, over the
  definition as written (a base *tag* is text);
- the **image hash**: the definition hash's inputs plus the digest the base
  tag resolved to; it names the image (``<registry>/mlenv/env:<image hash>``)
  and is the resource's ``hash`` output. For a base Dockerfile (nothing to
  resolve) the two are equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pulumi_mlenv import definition as specs  # the curated catalog loads on first use
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    METADATA_FIELDS,
    EnvironmentSpec,
    compute_hash,
    parse_definition,
    to_dict,
    unpinned_packages,
    with_resolved_base,
)
from pulumi_mlenv.definition.credentials import MASK, restore_credentials, split_credentials
from pulumi_mlenv.definition.text import redact_url_credentials
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

__all__ = [
    "STATE_KEYS",
    "ResolvedEnvironment",
    "base_image_of",
    "resolve",
    "resolve_known",
    "with_base_resolved",
]

#: Keys a resolved environment adds to a resource's checked inputs.
STATE_KEYS = (
    "hash",
    "definition_hash",
    "definition",
    "base_digest",
    "base_image",
    "curated_name",
    "unpinned",
)


def base_image_of(spec: EnvironmentSpec, settings: Settings) -> str | None:
    """The base image reference the build starts from: the definition's, else
    the provider's default; None for a base Dockerfile."""
    if spec.docker.base_dockerfile:
        return None
    return spec.docker.base_image or settings.base_image


@dataclass(frozen=True, slots=True)
class ResolvedEnvironment:
    """A definition with its base resolved, and its hashes (see module doc).

    ``base_image`` is the reference the build starts from (None for a base
    Dockerfile); ``curated_name`` the catalog entry it hashes like, if any;
    ``unpinned`` the packages the lock will pin at build time.
    """

    spec: EnvironmentSpec
    hash: str
    definition_hash: str
    base_image: str | None
    curated_name: str | None
    unpinned: tuple[str, ...]

    @property
    def base_ref(self) -> str | None:
        """``name@digest`` the build starts from; None for a base Dockerfile."""
        digest = self.spec.docker.resolved_base_digest
        if self.base_image is None:
            return None
        name = self.base_image.split("@", 1)[0]
        return f"{name}@{digest}" if digest else self.base_image

    @property
    def kind(self) -> str:
        """``curated``, ``system-managed`` or ``user-managed``."""
        return "curated" if self.curated_name else self.spec.kind.value

    def state(self) -> dict[str, Any]:
        """The value as plain values for a resource's checked inputs. The
        environment variables stay out (they are kept as a secret input), and
        so do credentials written in URLs: the definition keeps them masked
        (``with_credentials_from`` puts them back from the inputs, for a build)."""
        return {
            "hash": self.hash,
            "definition_hash": self.definition_hash,
            "definition": definition_state(self.spec),
            "base_digest": self.spec.docker.resolved_base_digest,
            "base_image": self.base_image,
            "curated_name": self.curated_name,
            "unpinned": [redact_url_credentials(p, MASK) for p in self.unpinned],
        }

    @classmethod
    def from_state(
        cls,
        props: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
    ) -> ResolvedEnvironment:
        """The value ``state()`` stored, with ``metadata`` (name, version,
        description, tags, variables) laid over the stored definition (URL
        credentials masked). Nothing is recomputed but the parse; older
        states without the definition hash, curated name or unpinned list
        get them computed."""
        definition = {**props["definition"], **(metadata or {})}
        spec = with_resolved_base(parse_definition(definition), props.get("base_digest"))
        definition_hash = props.get("definition_hash")
        if definition_hash is None:
            definition_hash = compute_hash(with_resolved_base(spec, None))
        unpinned = props.get("unpinned")
        return cls(
            spec=spec,
            hash=str(props["hash"]),
            definition_hash=str(definition_hash),
            base_image=props.get("base_image"),
            curated_name=(
                props.get("curated_name") if "unpinned" in props else specs.curated_name(spec)
            ),
            unpinned=tuple(unpinned) if unpinned is not None else tuple(unpinned_packages(spec)),
        )


def needs_credentials(spec: EnvironmentSpec) -> bool:
    """Whether a stored definition has masked URL credentials to put back."""
    lines = [*(spec.python.conda.pip if spec.python.conda else ())]
    lines += [*(spec.python.conda.pip_options if spec.python.conda else ())]
    lines += list(spec.spark.repositories)
    return any(f"://{MASK}@" in line for line in lines)


def with_credentials_from(
    resolved: ResolvedEnvironment, written: EnvironmentSpec
) -> ResolvedEnvironment:
    """``resolved`` with the URL credentials of ``written`` (the definition
    read again from the resource's inputs, where they are a secret) put back
    into its masked lines: only a build needs them, and nothing stores them."""
    _, pairs = split_credentials(written)
    return replace(resolved, spec=restore_credentials(resolved.spec, pairs))


def definition_state(spec: EnvironmentSpec) -> dict[str, Any]:
    """The definition as plain values for state and the workspace: without its
    environment variables (secret values stay in their secret input), with
    URL credentials masked, and without the resolved digest (stored beside it)."""
    masked, _ = split_credentials(spec)
    return to_dict(replace(masked, environment_variables=()))


def as_written(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a stored definition that shape the image, as written."""
    return {k: v for k, v in definition.items() if k not in METADATA_FIELDS}


def resolve_known(spec: EnvironmentSpec, base_image: str | None) -> ResolvedEnvironment:
    """The value for a definition whose base digest is already in it (or that
    needs none): no registry request."""
    digest = spec.docker.resolved_base_digest
    image_hash = compute_hash(spec)
    definition_hash = compute_hash(with_resolved_base(spec, None)) if digest else image_hash
    return ResolvedEnvironment(
        spec=spec,
        hash=image_hash,
        definition_hash=definition_hash,
        base_image=base_image,
        # The catalog is keyed by the definition hash: computed once, here.
        curated_name=specs.curated_by_hash(definition_hash),
        unpinned=tuple(unpinned_packages(spec)),
    )


def resolve(
    spec: EnvironmentSpec, settings: Settings, *, outside: Outside | None = None
) -> ResolvedEnvironment:
    """Resolve the base tag to a digest and hash the result, once.

    One registry request per distinct tag per process at most (answers are
    cached); a base pinned by digest, or one resolved already, needs none.
    Raises ``RegistryError`` when the tag can be resolved nowhere.
    """
    resolved = with_base_resolved(spec, settings, outside=outside)
    return resolve_known(resolved, base_image_of(spec, settings))


def with_base_resolved(
    spec: EnvironmentSpec, settings: Settings, *, outside: Outside | None = None
) -> EnvironmentSpec:
    """``spec`` with its base tag resolved to a digest (see ``resolve``): its
    hash is ``compute_hash`` of this. A run on the host needs no more (not
    the catalog lookup nor the unpinned list ``resolve`` adds)."""
    base = base_image_of(spec, settings)
    if base is not None and not spec.docker.resolved_base_digest:
        digest = outside_or_real(outside).resolve_base(base, settings)
        spec = with_resolved_base(spec, digest)
    return spec
