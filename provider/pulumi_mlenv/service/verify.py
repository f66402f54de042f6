"""``verify``: rebuild an image from its recorded definition and lock,
without any cache, and say whether the same bytes came out (environments are made to be used: going
back
to the exact environment of a past result is strongest when anyone can
rebuild it).

The rebuild uses what was recorded, never what moved since: the base image
by the digest recorded with the image, the lock's versions for every pip
package (so a verify a year later installs what the first build installed),
the same recipe (an image made by another recipe version is refused, with
the reason). It runs on the configured BuildKit daemon, or another one
(``builder=``), and is pushed beside the image under the tag
``verify-<hash>`` (the image's own tag never moves). When the digests
differ, both images are fetched from the registry and compared layer by
layer, then path by path (``imaging.compare``); the layer's step, and why it
is not reproducible, are named. Each verify is recorded in the workspace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import (
    RECIPE_VERSION,
    EnvironmentSpec,
    extra_conda_packages,
    load_definition,
    parse_definition,
    with_resolved_base,
)
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.imaging.compare import ImageComparison, compare_images
from pulumi_mlenv.imaging.dockerfile import LABEL_PREFIX
from pulumi_mlenv.imaging.lock import diff_locks, lock_versions
from pulumi_mlenv.registry import ImageRef
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import ImageRegistry, Outside

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.builder import BuiltImage
    from pulumi_mlenv.service.resolved import ResolvedEnvironment

__all__ = ["VERIFY_TAG_PREFIX", "Verification", "pin_to_lock", "verify_image"]

#: The rebuild's tag, beside the image's own ``<hash>`` tag.
VERIFY_TAG_PREFIX = "verify-"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """What ``verify_image`` found. ``identical`` only when the rebuild's
    manifest digest is the image's; ``comparison`` says where they differ;
    ``rebuilt`` is the rebuild by digest (pullable, tagged ``verify-<hash>``);
    ``lock_changes`` lists packages the rebuild resolved differently (none
    when the lock pinned them all)."""

    image: str
    env_hash: str
    builder: str
    rebuilt: str
    comparison: ImageComparison
    verified_at: str
    lock_changes: tuple[str, ...] = ()
    #: The image's provenance (by digest), None when it has none; and what
    #: the rebuild does not have of what it says (empty: it matches).
    provenance: str | None = None
    provenance_problems: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        return self.comparison.identical

    @property
    def matches_provenance(self) -> bool:
        """True when the image has provenance and the rebuild matches it."""
        return self.provenance is not None and not self.provenance_problems

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        return {
            "image": self.image,
            "hash": self.env_hash,
            "builder": self.builder,
            "rebuilt": self.rebuilt,
            "verified_at": self.verified_at,
            "lock_changes": list(self.lock_changes),
            "provenance": self.provenance,
            "provenance_problems": list(self.provenance_problems),
            **self.comparison.to_dict(),
        }


def pin_to_lock(spec: EnvironmentSpec, lock: tuple[str, ...]) -> EnvironmentSpec:
    """``spec`` with its pip requirements pinned to the ``lock``'s versions.

    Without conda packages, the lock is the whole environment: every
    requirement gets its locked version (extras and markers kept) and every
    other locked distribution is added as a pin, so nothing is resolved
    anew. With conda packages, the lock also lists conda's own packages,
    which pip must not see: only the written pip requirements are pinned.
    ``name @ url`` entries stay as written. The hash is not recomputed: the
    caller builds under the recorded hash."""
    conda = spec.python.conda
    if conda is None or not lock:
        return spec
    locked = lock_versions(lock)
    pins = {name: version for name, version in locked.items() if "://" not in version}
    named: set[str] = set()
    pip: list[str] = []
    for text in conda.pip:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            pip.append(text)
            continue
        name = canonicalize_name(req.name)
        named.add(name)
        if name in pins and req.url is None:
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            marker = f"; {req.marker}" if req.marker else ""
            pip.append(f"{req.name}{extras}=={pins[name]}{marker}")
        else:
            pip.append(text)
    if not extra_conda_packages(spec):
        pip += [f"{name}=={version}" for name, version in pins.items() if name not in named]
    return replace(spec, python=replace(spec.python, conda=replace(conda, pip=tuple(pip))))


def _definition(query: str, store: Any, record: Any) -> dict[str, Any]:
    """The definition recorded for the image: the version's, or any version
    sharing the image's hash."""
    name, sep, version = query.partition(":")
    if sep and "/" not in query and "@" not in query:
        found = store.get_version(name, version or None)
        if found is not None:
            return dict(found.definition)
    for candidate in store.versions_for_hash(record.env_hash):
        return dict(candidate.definition)
    raise MlenvError(
        f"verifying {query}: the workspace has no definition for hash {record.env_hash[:12]}"
        " (no environment version registered with it); register one, or pass the"
        " definition file with --definition PATH"
    )


def _image_record(query: str, settings: Settings, store: Any, io: Outside) -> Any:
    """The workspace's record of the image ``query`` names (hash, reference,
    or ``NAME[:VERSION]``)."""
    text = query.strip()
    record = None
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        record = store.find_image(text)
    elif "/" in text or "@" in text:
        ref = ImageRef.parse(text)
        digest = ref.digest
        if digest is None:
            with io.registry(ref.registry, settings) as client:
                digest = client.digest_of(ref.repository, ref.tag or "latest")
        record = store.find_image_by_digest(digest) if digest else None
    else:
        name, _, version = text.partition(":")
        found = store.get_version(name, version or None)
        if found is None:
            raise MlenvError(f"no environment version {query} in the workspace")
        digest = ImageRef.parse(found.image).digest
        record = store.find_image_by_digest(digest) if digest else None
    if record is None:
        raise MlenvError(
            f"verifying {query}: no image recorded for it in the workspace (its lock and"
            " base digest are unknown); verify an image this workspace built"
        )
    return record


def _fetch(client: ImageRegistry, repository: str, reference: str) -> tuple[str, Any, Any]:
    found = client.manifest(repository, reference)
    if found is None:
        raise MlenvError(f"no image {client.host}/{repository}@{reference} in the registry")
    digest, manifest = found
    config = json.loads(client.blob(repository, str(manifest["config"]["digest"])))
    return digest, manifest, config


def _compare(
    client: ImageRegistry, repository: str, recorded: str, rebuilt: str
) -> ImageComparison:
    a = _fetch(client, repository, recorded)
    b = _fetch(client, repository, rebuilt)
    layers_a = [x["digest"] for x in a[1].get("layers") or []]
    layers_b = [x["digest"] for x in b[1].get("layers") or []]
    differing = {x for x, y in zip(layers_a, layers_b, strict=False) if x != y}
    differing |= {y for x, y in zip(layers_a, layers_b, strict=False) if x != y}
    blobs = {d: client.blob(repository, d) for d in sorted(differing)}
    # The digests of the manifests as asked for (an index is followed).
    return compare_images((recorded, a[1], a[2]), (rebuilt, b[1], b[2]), blobs)


def _summary(comparison: ImageComparison) -> str:
    if comparison.identical:
        return ""
    parts = []
    for layer in comparison.layers:
        paths = ", ".join(p.path for p in layer.paths[:3])
        parts.append(f"layer {layer.index} ({layer.step[:80]}): {paths or 'bytes'}")
    parts += [f"config {c.field}" for c in comparison.config if not comparison.layers]
    return "; ".join(parts)[:1000]


def verify_image(
    query: str,
    *,
    settings: Settings,
    workspace: Any = None,
    builder: str | None = None,
    definition_path: str | None = None,
    progress: Callable[[StepEvent], None] | None = None,
    outside: Outside | None = None,
) -> Verification:
    """Rebuild the image ``query`` names (a hash, a reference, or
    ``NAME[:VERSION]``) from its recorded definition and lock, with no
    cache, on ``builder`` (a BuildKit address; the configured one by
    default), and compare (see the module docstring). Records the outcome
    in ``workspace``. Raises ``MlenvError`` when the image, its definition
    or its recipe cannot be rebuilt here; ``BuildError`` when the rebuild
    fails."""
    from pulumi_mlenv.service.images import build_plan

    io = outside_or_real(outside)
    if workspace is None:  # the settings' workspace, for this call
        with io.workspace(settings.workspace_url) as store:
            return verify_image(
                query,
                settings=settings,
                workspace=store,
                builder=builder,
                definition_path=definition_path,
                progress=progress,
                outside=io,
            )
    record = _image_record(query, settings, workspace, io)
    spec, resolved = _rebuildable(query, record, workspace, definition_path, settings, io)
    address = builder or settings.buildkit_host
    plan = build_plan(resolved, replace(settings, buildkit_host=address), no_cache=True)
    tag = f"{record.registry}/{record.repository}:{VERIFY_TAG_PREFIX}{record.env_hash}"
    # The labels, the hash in the Dockerfile and the tag follow ``spec``
    # (build_plan); only the requirements the installer reads are pinned.
    plan = replace(plan, spec=pin_to_lock(spec, tuple(record.lock)), image_name=tag)
    built = io.build(plan, progress)
    comparison = ImageComparison(record.digest, built.digest)
    if not comparison.identical:
        with io.registry(record.registry, settings) as client:
            comparison = _compare(client, record.repository, record.digest, built.digest)
    return _recorded(record, built, comparison, address, workspace, settings, io)


def _recorded(
    record: Any,
    built: BuiltImage,
    comparison: ImageComparison,
    address: str,
    workspace: Any,
    settings: Settings,
    io: Outside,
) -> Verification:
    """The outcome recorded in ``workspace``, with the lock's changes and
    the provenance check."""
    from pulumi_mlenv.workspace import VerificationRecord

    changes: tuple[str, ...] = ()
    if record.lock and built.lock and tuple(record.lock) != tuple(built.lock):
        changes = tuple(diff_locks(record.lock, built.lock))
    provenance, problems = _check_provenance(record, built.digest, tuple(built.lock), settings, io)
    stored = workspace.record_verification(
        VerificationRecord(
            digest=record.digest,
            env_hash=record.env_hash,
            builder=address,
            identical=comparison.identical,
            rebuilt_digest=built.digest,
            summary=_summary(comparison),
        )
    )
    return Verification(
        image=record.image,
        env_hash=record.env_hash,
        builder=address,
        rebuilt=f"{record.registry}/{record.repository}@{built.digest}",
        comparison=comparison,
        verified_at=stored.verified_at,
        lock_changes=changes,
        provenance=provenance,
        provenance_problems=problems,
    )


def _rebuildable(
    query: str,
    record: Any,
    workspace: Any,
    definition_path: str | None,
    settings: Settings,
    io: Outside,
) -> tuple[EnvironmentSpec, ResolvedEnvironment]:
    """The definition ``record`` was built from (recorded, or the file given)
    on its recorded base digest, resolved; ``MlenvError`` when the image is
    gone, was made by another recipe, or the definition hashes otherwise."""
    from pulumi_mlenv.service.resolved import resolve

    if definition_path:
        spec = load_definition(definition_path)
    else:
        spec = parse_definition(_definition(query, workspace, record))
    spec = with_resolved_base(spec, record.base_digest)
    with io.registry(record.registry, settings) as client:
        info = client.manifest_info(record.repository, record.digest)
    if info is None:
        raise MlenvError(f"verifying {query}: {record.image} is not in the registry any more")
    recipe = info.labels.get(f"{LABEL_PREFIX}.recipe")
    if recipe is not None and recipe != RECIPE_VERSION:
        raise MlenvError(
            f"verifying {query}: the image was made by build recipe {recipe}, this mlenv"
            f" renders recipe {RECIPE_VERSION}; verify it with the mlenv release that built it"
        )
    resolved = resolve(spec, settings, outside=io)  # the base is by digest: no request
    if resolved.hash != record.env_hash:
        raise MlenvError(
            f"verifying {query}: the definition hashes to {resolved.hash[:12]}, the image was"
            f" built for {record.env_hash[:12]}; give the definition it was built from"
        )
    return spec, resolved


def _check_provenance(
    record: Any, rebuilt: str, lock: tuple[str, ...], settings: Settings, io: Outside
) -> tuple[str | None, tuple[str, ...]]:
    """The image's provenance reference and what the rebuild does not have
    of what it says: image digest, base digest, lock digest, each step."""
    from pulumi_mlenv.imaging.provenance import PROVENANCE_MEDIA_TYPE, check_rebuild
    from pulumi_mlenv.service.supply import image_facts, read_attestation

    if io.artifacts is None:  # an in-memory world keeps no provenance
        return None, ()
    with io.artifacts(record.registry, settings) as client:
        found = read_attestation(client, record.repository, record.digest, PROVENANCE_MEDIA_TYPE)
        if found is None:
            return None, ()
        steps = image_facts(client, record.repository, rebuilt).steps
    problems = check_rebuild(
        json.loads(found.document),
        digest=rebuilt,
        base_digest=record.base_digest,
        lock=lock or tuple(record.lock),
        steps=steps,
    )
    return found.reference, tuple(problems)
