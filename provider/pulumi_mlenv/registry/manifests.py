"""What a registry's answers mean, without asking it anything: the
manifest media types, ``ManifestInfo`` read from a manifest and its config,
the error codes of a failed answer, the platform picked from an index, and
the ``Link`` header of a paged list. Pure: no network."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from typing import Any

import requests

from pulumi_mlenv.errors import RegistryError

__all__ = [
    "ABSENT_CODES",
    "ACCEPT",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "ManifestInfo",
    "error_codes",
    "file_in_layer",
    "is_index",
    "manifest_info",
    "media_type_of",
    "next_page",
    "pick_platform",
    "sha256",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
ACCEPT = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
ABSENT_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """What a registry knows about one image.

    ``digest`` and ``media_type`` are those of the manifest the reference
    points to (an index for multi-platform images). ``size`` is the config
    plus the compressed layers, in bytes; for an index, of the ``linux/amd64``
    entry (or the first one). ``created`` is the config's creation time as
    written there (RFC 3339), ``None`` when the config has none; ``labels``
    are the config's labels (empty when none); ``layers`` the layer digests
    in order.
    """

    digest: str
    media_type: str
    size: int
    config_digest: str
    created: str | None
    labels: dict[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    #: Compressed size of each layer, in the order of ``layers``.
    layer_sizes: tuple[int, ...] = ()


def error_codes(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("code", "")) for e in errors if isinstance(e, dict)]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def media_type_of(response: requests.Response, doc: dict[str, Any]) -> str:
    header = response.headers.get("Content-Type", "").split(";")[0].strip()
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return header


def pick_platform(entries: list[Any], repository: str, reference: str) -> dict[str, Any]:
    """The ``linux/amd64`` entry of an index, else the first one."""
    usable = [e for e in entries if isinstance(e, dict) and e.get("digest")]
    if not usable:
        raise RegistryError(f"index {repository}:{reference} lists no manifests")
    for entry in usable:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return entry
    return usable[0]


def is_index(media_type: str, doc: dict[str, Any]) -> bool:
    """Whether a manifest document is an index (a list of per-platform images)."""
    return media_type in INDEX_TYPES or "manifests" in doc


def next_page(link: str) -> str | None:
    """The path of the next page a ``Link`` header names, None on the last."""
    if 'rel="next"' not in link:
        return None
    return link[link.find("<") + 1 : link.find(">")]


def manifest_info(
    digest: str, media_type: str, image_doc: dict[str, Any], config: dict[str, Any]
) -> ManifestInfo:
    """``ManifestInfo`` of the image manifest ``image_doc`` (already checked to
    have a config and a layer list) and its config blob."""
    layers = image_doc["layers"]
    size = int(image_doc["config"].get("size", 0)) + sum(
        int(layer.get("size", 0)) for layer in layers
    )
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    created = config.get("created")
    return ManifestInfo(
        digest=digest,
        media_type=media_type,
        size=size,
        config_digest=str(image_doc["config"].get("digest", "")),
        created=created if isinstance(created, str) else None,
        labels={str(k): str(v) for k, v in (labels or {}).items()},
        layers=tuple(str(layer.get("digest", "")) for layer in layers),
        layer_sizes=tuple(int(layer.get("size", 0)) for layer in layers),
    )


def file_in_layer(layer: bytes, path: str) -> bytes | None:
    """The content of ``path`` (no leading ``/``) in a layer's tar (gzip or
    not), None when it has no such file or is not a tar at all (an
    attestation, a foreign format). Read in memory, never written to disk."""
    try:
        with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as tar:
            for member in tar:
                if member.name.lstrip("./") == path and member.isfile():
                    extracted = tar.extractfile(member)
                    return extracted.read() if extracted is not None else None
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None
