"""Air-gapped bundles: environment versions carried to a site without a
network, in one OCI image layout tar (docs/supply-chain.md).

``export_bundle(["train:3", ...], path)`` writes, per version: the image
(manifest, config, every layer), its referrers (SBOM, provenance) and an
*environment record* (an artifact manifest whose subject is the image,
holding the version's name, number, hashes, definition, lock, Dockerfile
and base digest). ``import_bundle(path, registry, workspace)`` pushes all of
it into another registry and registers the versions in another workspace:
same version numbers, hashes and digests. Nothing on the importing side
talks to the first registry or to a package index.

Secrets do not travel: the workspace keeps definitions without credentials
and variables as names only, and registry logins are never written.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.oci_layout import LayoutReader, LayoutWriter
from pulumi_mlenv.registry.reference import ImageRef
from pulumi_mlenv.registry.referrers import Referrer, referrer_manifest
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.images import ENV_REPOSITORY
from pulumi_mlenv.service.outside import ArtifactRegistry, Outside

__all__ = ["RECORD_MEDIA_TYPE", "BundleEntry", "export_bundle", "import_bundle"]

#: The environment record's media type (and its manifest's artifactType).
RECORD_MEDIA_TYPE = "application/vnd.pulumi-mlenv.environment.v1+json"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True, slots=True)
class BundleEntry:
    """One environment version in a bundle: ``name:version``, its image
    hash and digest (the same on both sides), and the image reference on
    the side that just handled it."""

    name: str
    version: str
    env_hash: str
    digest: str
    image: str
    referrers: int


def _sha256(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def _copy_manifest(
    client: ArtifactRegistry, repository: str, digest: str, out: LayoutWriter, scratch: Path
) -> tuple[str, int, dict[str, Any]]:
    """Put a manifest and every blob it names into ``out``; (media type,
    size, document). Indexes are followed to each of their manifests."""
    found = client.raw_manifest(repository, digest)
    if found is None:
        raise MlenvError(f"bundle: {client.host}/{repository}@{digest} is not in the registry")
    _, media_type, body = found
    doc = json.loads(body)
    for child in doc.get("manifests") or []:
        _copy_manifest(client, repository, str(child["digest"]), out, scratch)
    for blob in [doc.get("config"), *(doc.get("layers") or [])]:
        if not isinstance(blob, dict) or out.has(str(blob["digest"])):
            continue
        path = scratch / str(blob["digest"]).replace(":", "-")
        client.blob_to_file(repository, str(blob["digest"]), path)
        out.add_file(str(blob["digest"]), path)
        path.unlink()
    out.add_bytes(digest, body)
    return media_type, len(body), doc


def export_bundle(
    versions: list[str],
    path: Path,
    *,
    settings: Settings,
    outside: Outside | None = None,
) -> list[BundleEntry]:
    """Write the bundle of ``versions`` (``NAME:VERSION`` or ``NAME`` for the
    latest) to ``path``. Raises ``MlenvError`` for an unknown version or an
    image no longer in its registry; nothing is left at ``path`` then."""
    io = outside_or_real(outside)
    if io.artifacts is None:
        raise MlenvError("these backends cannot read blobs: no bundle")
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        io.workspace(settings.workspace_url) as store,
        tempfile.TemporaryDirectory(prefix="bundle-", dir=path.parent) as tmp,
        LayoutWriter(path) as out,
    ):
        return [_export(query, store, io, settings, out, Path(tmp)) for query in versions]


def _export(
    query: str, store: Any, io: Outside, settings: Settings, out: LayoutWriter, scratch: Path
) -> BundleEntry:
    """One version into ``out``: its image, its referrers and its record."""
    assert io.artifacts is not None  # export_bundle checked
    name, _, number = query.partition(":")
    version = store.get_version(name, number or None)
    if version is None:
        raise MlenvError(f"bundle: no environment version {query} in the workspace")
    ref = ImageRef.parse(version.image)
    assert ref.digest is not None  # versions are registered by digest
    with io.artifacts(ref.registry, settings) as client:
        media_type, size, _ = _copy_manifest(client, ref.repository, ref.digest, out, scratch)
        subject = {"mediaType": media_type, "digest": ref.digest, "size": size}
        out.manifests.append(
            {
                **subject,
                "annotations": {
                    _REF_NAME: f"{version.name}:{version.version}",
                    "org.pulumi-mlenv.hash": version.env_hash,
                },
            }
        )
        found = client.referrers(ref.repository, ref.digest)
        for referrer in found:
            _copy_manifest(client, ref.repository, referrer.digest, out, scratch)
            out.manifests.append(referrer.descriptor())
    _add_record(out, version, store.find_image_by_digest(ref.digest), subject)
    return BundleEntry(
        version.name, version.version, version.env_hash, ref.digest, version.image, len(found)
    )


def _add_record(out: LayoutWriter, version: Any, image: Any, subject: dict[str, Any]) -> None:
    """The version's record, as an artifact whose subject is its image."""
    payload = json.dumps(_record(version, image), indent=2, sort_keys=True).encode()
    body = referrer_manifest(
        subject=subject,
        artifact_type=RECORD_MEDIA_TYPE,
        payload=payload,
        media_type=RECORD_MEDIA_TYPE,
        annotations={_REF_NAME: f"{version.name}:{version.version}"},
    )
    out.add_bytes(_sha256(b"{}"), b"{}")
    out.add_bytes(_sha256(payload), payload)
    out.add_bytes(_sha256(body), body)
    out.manifests.append(
        {
            "mediaType": _OCI_MANIFEST,
            "digest": _sha256(body),
            "size": len(body),
            "artifactType": RECORD_MEDIA_TYPE,
        }
    )


def _record(version: Any, image: Any) -> dict[str, Any]:
    """The environment record: what the other workspace registers."""
    return {
        "name": version.name,
        "version": version.version,
        "hash": version.env_hash,
        "image_digest": ImageRef.parse(version.image).digest,
        "definition": version.definition,
        "description": version.description,
        "tags": [list(t) for t in version.tags],
        "environment_variables": [list(v) for v in version.environment_variables],
        "lock": list(image.lock) if image is not None else [],
        "dockerfile": image.dockerfile if image is not None else "",
        "base_image": image.base_image if image is not None else None,
        "base_digest": image.base_digest if image is not None else None,
        "size": image.size if image is not None else 0,
        "created": image.created if image is not None else "",
    }


def _push_manifest(
    client: ArtifactRegistry, repository: str, digest: str, bundle: LayoutReader, scratch: Path
) -> tuple[str, bytes]:
    """Push a manifest of the bundle with its blobs (children first)."""
    body = bundle.blob(digest)
    if _sha256(body) != digest:
        raise MlenvError(f"bundle: manifest {digest} has other content")
    doc = json.loads(body)
    for child in doc.get("manifests") or []:
        _push_manifest(client, repository, str(child["digest"]), bundle, scratch)
    for blob in [doc.get("config"), *(doc.get("layers") or [])]:
        if not isinstance(blob, dict):
            continue
        blob_digest = str(blob["digest"])
        if client.has_blob(repository, blob_digest):
            continue
        path = scratch / blob_digest.replace(":", "-")
        with bundle.open_blob(blob_digest) as stream, path.open("wb") as sink:
            while chunk := stream.read(1 << 20):
                sink.write(chunk)
        client.push_blob(repository, path, blob_digest)  # checked before sending
        path.unlink()
    media_type = str(doc.get("mediaType") or _OCI_MANIFEST)
    client.put_manifest(repository, digest, body, media_type)
    return media_type, body


def import_bundle(
    path: Path,
    *,
    settings: Settings,
    outside: Outside | None = None,
) -> list[BundleEntry]:
    """Load the bundle at ``path`` into ``settings.registry`` (under
    ``mlenv/env``) and ``settings.workspace_url``: images, referrers, tags
    by hash, image records and versions with their numbers. A version
    number the workspace already has for another hash is an error."""
    io = outside_or_real(outside)
    if io.artifacts is None:
        raise MlenvError("these backends cannot push blobs: no bundle import")
    bundle = LayoutReader(path)
    try:
        manifests = bundle.index.get("manifests") or []
        records = [m for m in manifests if m.get("artifactType") == RECORD_MEDIA_TYPE]
        with (
            io.artifacts(settings.registry, settings) as client,
            io.workspace(settings.workspace_url) as store,
            tempfile.TemporaryDirectory(prefix="bundle-") as tmp,
        ):
            into = _Into(client, client.repository_for(ENV_REPOSITORY), bundle, Path(tmp))
            return [_import(into, store, manifests, entry) for entry in records]
    finally:
        bundle.close()


@dataclass(frozen=True, slots=True)
class _Into:
    """Where an import pushes: the registry, its repository, the bundle read
    and a scratch folder for blobs on their way."""

    client: ArtifactRegistry
    repository: str
    bundle: LayoutReader
    scratch: Path

    def push(self, digest: str) -> tuple[str, bytes]:
        return _push_manifest(self.client, self.repository, digest, self.bundle, self.scratch)


def _import(into: _Into, store: Any, manifests: list[Any], entry: dict[str, Any]) -> BundleEntry:
    """One version's image (tagged by its hash), its referrers, its image
    record and the version itself."""
    from pulumi_mlenv.workspace import ImageRecord

    bundle, client, repository = into.bundle, into.client, into.repository
    manifest = json.loads(bundle.blob(str(entry["digest"])))
    record = json.loads(bundle.blob(str(manifest["layers"][0]["digest"])))
    digest = str(record["image_digest"])
    into.push(digest)
    body = bundle.blob(digest)
    client.put_manifest(repository, str(record["hash"]), body, _media(body))
    count = _import_referrers(into, manifests, digest)
    image = f"{client.host}/{repository}@{digest}"
    store.record_image(
        ImageRecord(
            env_hash=record["hash"],
            registry=client.host,
            repository=repository,
            digest=digest,
            size=int(record.get("size") or 0),
            created=str(record.get("created") or ""),
            base_image=record.get("base_image"),
            base_digest=record.get("base_digest"),
            dockerfile=str(record.get("dockerfile") or ""),
            lock=tuple(record.get("lock") or ()),
        )
    )
    registered = store.register_version(
        record["name"],
        record["hash"],
        version=str(record["version"]),
        image=image,
        definition=record.get("definition") or {},
        description=record.get("description"),
        tags=tuple(tuple(t) for t in record.get("tags") or ()),
        environment_variables=tuple(tuple(v) for v in record.get("environment_variables") or ()),
    )
    return BundleEntry(
        registered.name, registered.version, registered.env_hash, digest, image, count
    )


def _import_referrers(into: _Into, manifests: list[Any], digest: str) -> int:
    """Push the bundle's referrers of ``digest`` and index them; how many."""
    count = 0
    for item in manifests:
        if item.get("artifactType") == RECORD_MEDIA_TYPE or "artifactType" not in item:
            continue
        doc = json.loads(into.bundle.blob(str(item["digest"])))
        if (doc.get("subject") or {}).get("digest") != digest:
            continue
        into.push(str(item["digest"]))
        into.client.add_to_index(
            into.repository,
            digest,
            Referrer(
                str(item["digest"]),
                str(item["artifactType"]),
                int(item["size"]),
                dict(item.get("annotations") or {}),
            ),
        )
        count += 1
    return count


def _media(body: bytes) -> str:
    return str(json.loads(body).get("mediaType") or _OCI_MANIFEST)
