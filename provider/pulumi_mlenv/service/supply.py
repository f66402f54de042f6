"""The supply-chain use cases: every environment image gets an SBOM and a
provenance statement, attached to it in its registry as OCI referrers, and
signed (DSSE) when a signing key is configured (docs/supply-chain.md).

- ``attest(...)``: after ``provision`` made or found an image: one request
  lists the image's referrers; what is missing (a new image, or one made
  before this feature) is made and attached.
- ``attestations_of(query)``: the SBOM and provenance of an image, read
  back from the registry (``mlenv image sbom|provenance``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import RECIPE_VERSION, extra_conda_packages
from pulumi_mlenv.definition.text import redact_url_credentials
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.dpkg import parse_status
from pulumi_mlenv.imaging.dsse import (
    DSSE_MEDIA_TYPE,
    load_signer,
    open_envelope,
    sign_envelope,
    verify_envelope,
)
from pulumi_mlenv.imaging.image_facts import buildkit_version, image_steps, read_dpkg_status
from pulumi_mlenv.imaging.provenance import (
    PREDICATE_TYPE,
    PROVENANCE_MEDIA_TYPE,
    ProvenanceFacts,
    Step,
    make_provenance,
)
from pulumi_mlenv.imaging.sbom import SBOM_MEDIA_TYPE, SbomFacts, make_sbom, sbom_rows
from pulumi_mlenv.service.outside import ArtifactRegistry, Outside

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.dsse import Signer
    from pulumi_mlenv.registry.referrers import Referrer
    from pulumi_mlenv.service.images import EnsureResult
    from pulumi_mlenv.service.resolved import ResolvedEnvironment

__all__ = [
    "ANNOTATION_PREFIX",
    "PROVENANCE_MEDIA_TYPE",
    "SBOM_MEDIA_TYPE",
    "Attestation",
    "Attestations",
    "attest",
    "image_facts",
    "read_attestation",
    "sbom_rows",
    "show_attestation",
    "verify_envelope",
]

#: Annotations of our referrer manifests.
ANNOTATION_PREFIX = "org.pulumi-mlenv"
_HASH_OPTION = re.compile(r"--hash[= ]sha256:([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Attestations:
    """The referrers of one image, by digest reference
    (``<registry>/<repository>@sha256:...``); None where there is none."""

    sbom: str | None
    provenance: str | None
    signed: bool = False


@dataclass(frozen=True, slots=True)
class Attestation:
    """One artifact read back: its referrer, the document (the envelope's
    payload when signed), and the envelope itself when signed."""

    reference: str
    media_type: str
    document: bytes
    envelope: bytes | None

    @property
    def signed(self) -> bool:
        return self.envelope is not None


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """The image as its registry has it: descriptor, steps, created."""

    digest: str
    media_type: str
    size: int
    steps: tuple[Step, ...]
    manifest: dict[str, Any]


def image_facts(client: ArtifactRegistry, repository: str, digest: str) -> ImageFacts:
    """The manifest, and the steps from the config's history, of an image."""
    found = client.raw_manifest(repository, digest)
    if found is None:
        raise MlenvError(f"no image {client.host}/{repository}@{digest} in the registry")
    _, media_type, body = found
    manifest = json.loads(body)
    if "manifests" in manifest:
        raise MlenvError(f"{repository}@{digest} is a multi-platform index: attest its images")
    config = json.loads(client.blob(repository, str(manifest["config"]["digest"])))
    return ImageFacts(digest, media_type, len(body), image_steps(manifest, config), manifest)


def _latest(found: list[Referrer], artifact_type: str) -> Referrer | None:
    of_type = [r for r in found if r.artifact_type == artifact_type]
    return of_type[-1] if of_type else None


def _mlenv_version() -> str:
    try:
        return metadata.version("pulumi-mlenv")
    except metadata.PackageNotFoundError:
        return "unknown"


def _hashes(target: ResolvedEnvironment) -> dict[str, tuple[str, ...]]:
    """sha256 digests the definition's requirement lines pin (``--hash``)."""
    from packaging.utils import canonicalize_name

    conda = target.spec.python.conda
    found: dict[str, tuple[str, ...]] = {}
    for line in conda.pip if conda else ():
        digests = tuple(_HASH_OPTION.findall(line))
        name = re.split(r"[\s=<>!~;\[@]", line.strip(), maxsplit=1)[0]
        if digests and name:
            found[canonicalize_name(name)] = digests
    return found


def attest(
    result: EnsureResult,
    target: ResolvedEnvironment,
    environment: str,
    *,
    settings: Settings,
    outside: Outside,
    started: str | None = None,
) -> Attestations:
    """The SBOM and provenance of ``result``'s image, attached when missing.

    One request (the referrers tag) when both are there already; otherwise
    the image's manifest, config and (once per machine per layer) the
    layers holding dpkg's database are read, the documents made, signed
    with ``settings.signing_key`` when set, and attached."""
    if outside.artifacts is None:
        return Attestations(None, None)
    address = result.image.split("/", 1)[0]
    repository = result.repository
    with outside.artifacts(address, settings) as client:
        found = client.referrers(repository, result.digest, prefer_tag=True)
        sbom, provenance = _latest(found, SBOM_MEDIA_TYPE), _latest(found, PROVENANCE_MEDIA_TYPE)
        if sbom is None or provenance is None:
            job = _Attaching.of(client, result, target, environment, settings)
            if sbom is None:
                sbom = job.attach(SBOM_MEDIA_TYPE, _sbom(job, result, target, settings))
            if provenance is None:
                document = _provenance(job, result, target, settings, started)
                provenance = job.attach(PROVENANCE_MEDIA_TYPE, document)
    prefix = f"{address}/{repository}@"
    return Attestations(
        prefix + sbom.digest,
        prefix + provenance.digest,
        signed=f"{ANNOTATION_PREFIX}.signed-by" in sbom.annotations,
    )


@dataclass(frozen=True, slots=True)
class _Attaching:
    """What attaching a document to one image needs: the registry client,
    the image (as a subject), its facts, the annotations every document
    carries, the signer (None: unsigned) and the lock (credentials redacted)."""

    client: ArtifactRegistry
    repository: str
    name: str
    facts: ImageFacts
    annotations: dict[str, str]
    signer: Signer | None
    lock: tuple[str, ...]

    @classmethod
    def of(
        cls,
        client: ArtifactRegistry,
        result: EnsureResult,
        target: ResolvedEnvironment,
        environment: str,
        settings: Settings,
    ) -> _Attaching:
        key = settings.signing_key
        return cls(
            client=client,
            repository=result.repository,
            name=f"{result.image.split('/', 1)[0]}/{result.repository}",
            facts=image_facts(client, result.repository, result.digest),
            annotations={
                f"{ANNOTATION_PREFIX}.hash": target.hash,
                f"{ANNOTATION_PREFIX}.environment": environment,
            },
            signer=load_signer(key, settings.signing_key_password) if key else None,
            # The build strips credentials from the lock; never trust that here.
            lock=tuple(redact_url_credentials(line) for line in result.lock),
        )

    def attach(self, artifact_type: str, document: bytes) -> Referrer:
        """Attach ``document`` (signed in a DSSE envelope when there is a signer)."""
        payload, media_type = document, artifact_type
        notes = dict(self.annotations)
        if self.signer is not None:
            payload = sign_envelope(document, artifact_type, self.signer)
            media_type = DSSE_MEDIA_TYPE
            notes[f"{ANNOTATION_PREFIX}.signed-by"] = self.signer.keyid
        if artifact_type == PROVENANCE_MEDIA_TYPE:
            notes["in-toto.io/predicate-type"] = PREDICATE_TYPE
        facts = self.facts
        return self.client.attach(
            self.repository,
            {"mediaType": facts.media_type, "digest": facts.digest, "size": facts.size},
            artifact_type=artifact_type,
            payload=payload,
            media_type=media_type,
            annotations=notes,
        )


class _Subject(TypedDict):
    """The image a document is about, named the same in the SBOM and the provenance."""

    image: str
    digest: str
    env_hash: str
    definition_hash: str
    environment: str


def _subject(job: _Attaching, result: EnsureResult, target: ResolvedEnvironment) -> _Subject:
    return _Subject(
        image=job.name,
        digest=result.digest,
        env_hash=target.hash,
        definition_hash=target.definition_hash,
        environment=job.annotations[f"{ANNOTATION_PREFIX}.environment"],
    )


def _sbom(
    job: _Attaching, result: EnsureResult, target: ResolvedEnvironment, settings: Settings
) -> bytes:
    """The image's SBOM: its lock, its conda packages and dpkg's database."""
    status = read_dpkg_status(
        job.facts.steps,
        lambda d: job.client.open_blob(job.repository, d),
        Path(settings.cache_dir).expanduser() / "dpkg",
    )
    return make_sbom(
        SbomFacts(
            **_subject(job, result, target),
            recipe=RECIPE_VERSION,
            base_image=target.base_ref,
            lock=job.lock,
            conda_packages=frozenset(
                p.split("=")[0].split()[0] for p in extra_conda_packages(target.spec)
            ),
            debian=parse_status(status) if status else (),
            hashes=_hashes(target),
        )
    )


def _provenance(
    job: _Attaching,
    result: EnsureResult,
    target: ResolvedEnvironment,
    settings: Settings,
    started: str | None,
) -> bytes:
    """How the image was made: its recipe, base, steps and builder (the
    builder and times only when it was built, not reused)."""
    base_name, _, base_digest = (target.base_ref or "").partition("@")
    built = result.built
    return make_provenance(
        ProvenanceFacts(
            **_subject(job, result, target),
            base_image=target.spec.docker.base_image or base_name or None,
            base_digest=base_digest or None,
            recipe=RECIPE_VERSION,
            installer=settings.installer,
            lock=job.lock,
            dockerfile=result.dockerfile or "",
            steps=job.facts.steps,
            builder=settings.buildkit_host if built else "",
            buildkit_version=buildkit_version(settings.buildkit_host) if built else None,
            mlenv_version=_mlenv_version(),
            started=started,
            finished=datetime.now(UTC).isoformat(timespec="seconds") if built else None,
        )
    )


def read_attestation(
    client: ArtifactRegistry, repository: str, digest: str, artifact_type: str
) -> Attestation | None:
    """The latest artifact of ``artifact_type`` attached to image ``digest``,
    read back through the registry's API (referrers, then the blob); None
    when the image has none."""
    found = _latest(client.referrers(repository, digest, artifact_type), artifact_type)
    if found is None:
        return None
    media_type, data = client.artifact(repository, found)
    reference = f"{client.host}/{repository}@{found.digest}"
    if media_type == DSSE_MEDIA_TYPE:
        payload_type, payload, _ = open_envelope(data)
        return Attestation(reference, payload_type, payload, data)
    return Attestation(reference, media_type, data, None)


def show_attestation(
    query: str,
    artifact_type: str,
    *,
    settings: Settings,
    outside: Outside | None = None,
) -> tuple[str, Attestation]:
    """``(image by digest, artifact)`` of the image ``query`` names (an
    image reference, ``NAME[:VERSION]`` or a hash, as ``mlenv image
    details`` takes), read back from its registry. Raises ``MlenvError``
    when the image or the artifact is not there."""
    from pulumi_mlenv.service.compose import outside_or_real
    from pulumi_mlenv.service.image_facts import _query_target

    io = outside_or_real(outside)
    if io.artifacts is None:
        raise MlenvError("these backends keep no SBOM or provenance")
    with io.workspace(settings.workspace_url) as store:
        registry, repository, reference = _query_target(query, settings, store, io)
    with io.artifacts(registry, settings) as client:
        digest = client.digest_of(repository, reference)
        if digest is None:
            raise MlenvError(f"no image {registry}/{repository}:{reference} in the registry")
        found = read_attestation(client, repository, digest, artifact_type)
    image = f"{registry.split('/', 1)[0]}/{repository}@{digest}"
    if found is None:
        what = "SBOM" if artifact_type == SBOM_MEDIA_TYPE else "provenance"
        raise MlenvError(
            f"{image} has no {what} attached (images built before mlenv attached them get "
            "one at their next `mlenv env build` or `pulumi up`)"
        )
    return image, found
