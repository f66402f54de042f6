"""OCI referrers: artifacts (an SBOM, a provenance statement) attached to an
image by a manifest whose ``subject`` is the image (OCI distribution 1.1).

Attaching pushes the artifact's blob, the empty config (``{}``) and an
image manifest with ``artifactType`` and ``subject``; then the
*fallback tag* ``sha256-<hex of the image digest>`` is updated: an OCI
index listing every referrer of that image. The tag is written even when
the registry has the referrers API (``OCI-Subject`` in its answer), so that
one ``GET`` of it lists an image's referrers on every registry.

Listing asks the referrers API (``GET /v2/<repo>/referrers/<digest>``)
and, when the registry has none (Debian's docker-registry, distribution
2.8, answers 404), reads the fallback tag; ``prefer_tag`` reads the tag
first (one request on any registry for images attached here).

Two processes attaching to one image at once may each rewrite the tag's
index without the other's entry (a registry has no compare-and-swap):
each reads the index back after its write and writes again until its
entry stays.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry.manifests import OCI_INDEX, OCI_MANIFEST
from pulumi_mlenv.registry.manifests import sha256 as _sha256
from pulumi_mlenv.registry.transfer import TransferClient

__all__ = [
    "EMPTY_CONFIG",
    "EMPTY_MEDIA_TYPE",
    "Referrer",
    "ReferrersClient",
    "fallback_tag",
    "referrer_manifest",
]

#: How many times an attach writes the fallback tag's index before it gives
#: up on writers that keep overwriting it.
INDEX_ATTEMPTS = 5

#: The empty config of an artifact manifest (OCI image spec 1.1).
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"


@dataclass(frozen=True, slots=True)
class Referrer:
    """One artifact attached to an image: its manifest's digest, size and
    ``artifactType``, and the manifest's annotations."""

    digest: str
    artifact_type: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)

    def descriptor(self) -> dict[str, Any]:
        """Its entry in a referrers index."""
        entry: dict[str, Any] = {
            "mediaType": OCI_MANIFEST,
            "digest": self.digest,
            "size": self.size,
            "artifactType": self.artifact_type,
        }
        if self.annotations:
            entry["annotations"] = dict(self.annotations)
        return entry


def fallback_tag(digest: str) -> str:
    """The referrers tag of an image digest: ``sha256:ab…`` -> ``sha256-ab…``."""
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}"[:128]


def _canonical(doc: Mapping[str, Any]) -> bytes:
    """A manifest's bytes as pushed: sorted keys, no spaces (one digest for one content)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def referrer_manifest(
    *,
    subject: Mapping[str, Any],
    artifact_type: str,
    payload: bytes,
    media_type: str,
    annotations: Mapping[str, str],
) -> bytes:
    """The artifact manifest of ``payload`` attached to ``subject`` (a
    descriptor: mediaType, digest, size). Pure; sorted keys."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": EMPTY_MEDIA_TYPE,
            "digest": _sha256(EMPTY_CONFIG),
            "size": len(EMPTY_CONFIG),
        },
        "layers": [{"mediaType": media_type, "digest": _sha256(payload), "size": len(payload)}],
        "subject": {k: subject[k] for k in ("mediaType", "digest", "size")},
        "annotations": dict(annotations),
    }
    return _canonical(manifest)


def _referrers_of(doc: Any) -> list[Referrer]:
    found: list[Referrer] = []
    for entry in doc.get("manifests") or [] if isinstance(doc, dict) else []:
        if isinstance(entry, dict) and entry.get("digest"):
            found.append(
                Referrer(
                    digest=str(entry["digest"]),
                    artifact_type=str(entry.get("artifactType", "")),
                    size=int(entry.get("size", 0)),
                    annotations={
                        str(k): str(v) for k, v in (entry.get("annotations") or {}).items()
                    },
                )
            )
    return found


class ReferrersClient(TransferClient):
    """A registry client that attaches and lists referrers."""

    def attach(
        self,
        repository: str,
        subject: Mapping[str, Any],
        *,
        artifact_type: str,
        payload: bytes,
        media_type: str,
        annotations: Mapping[str, str],
    ) -> Referrer:
        """Attach ``payload`` to the image ``subject`` describes; the new
        referrer (attaching the same bytes again gives the same one)."""
        self.push_blob(repository, EMPTY_CONFIG)
        self.push_blob(repository, payload)
        body = referrer_manifest(
            subject=subject,
            artifact_type=artifact_type,
            payload=payload,
            media_type=media_type,
            annotations=annotations,
        )
        digest, _ = self.put_manifest(repository, _sha256(body), body, OCI_MANIFEST)
        referrer = Referrer(digest, artifact_type, len(body), dict(annotations))
        self.add_to_index(repository, str(subject["digest"]), referrer)
        return referrer

    def add_to_index(self, repository: str, subject: str, referrer: Referrer) -> None:
        """List ``referrer`` in the fallback tag's index of image ``subject``
        (a manifest already stored; bundles import them as they are)."""
        tag = fallback_tag(subject)
        # The registry has no compare-and-swap: two clients attaching to one
        # image at once (two Environments of one hash in one update) may
        # each write an index without the other's entry. Each reads back
        # after its write and writes again until its entry stays.
        for attempt in range(INDEX_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.05, 0.3))  # apart from the other writer
            entries = self._index_entries(repository, tag) or []
            if any(e.digest == referrer.digest for e in entries):
                return
            self._put_index(repository, tag, [*entries, referrer])
        if any(e.digest == referrer.digest for e in self._index_entries(repository, tag) or []):
            return
        raise RegistryError(
            f"registry {self.host}: the referrers index {repository}:{tag} kept losing "
            f"{referrer.digest[:19]} to other writers; attach it again"
        )

    def _index_entries(self, repository: str, tag: str) -> list[Referrer] | None:
        """The referrers the index at ``tag`` lists; ``None`` when there is no such tag."""
        current = self.raw_manifest(repository, tag)
        return _referrers_of(json.loads(current[2])) if current else None

    def _put_index(self, repository: str, tag: str, entries: list[Referrer]) -> None:
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [e.descriptor() for e in entries],
        }
        self.put_manifest(repository, tag, _canonical(index), OCI_INDEX)

    def referrers(
        self,
        repository: str,
        digest: str,
        artifact_type: str | None = None,
        *,
        prefer_tag: bool = False,
    ) -> list[Referrer]:
        """The referrers of image ``digest`` (of ``artifact_type`` only, when
        given), from the referrers API or the fallback tag (see the module
        docstring)."""
        order = (self._from_tag, self._from_api) if prefer_tag else (self._from_api, self._from_tag)
        found = order[0](repository, digest)
        if found is None:
            found = order[1](repository, digest) or []
        return [r for r in found if artifact_type is None or r.artifact_type == artifact_type]

    def _from_api(self, repository: str, digest: str) -> list[Referrer] | None:
        response = self._t.request(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            scope=f"repository:{repository}:pull",
            headers={"Accept": OCI_INDEX},
        )
        if response.status_code in (404, 405):  # no referrers API here
            return None
        if response.status_code != 200:
            raise self._failure(response, f"listing referrers of {repository}@{digest}")
        try:
            return _referrers_of(response.json())
        except ValueError:
            raise RegistryError(f"registry {self.host}: referrers of {digest}: not JSON") from None

    def _from_tag(self, repository: str, digest: str) -> list[Referrer] | None:
        return self._index_entries(repository, fallback_tag(digest))

    def artifact(self, repository: str, referrer: Referrer) -> tuple[str, bytes]:
        """``(media type, bytes)`` of a referrer's artifact (its first layer)."""
        found = self.raw_manifest(repository, referrer.digest)
        if found is None:
            raise RegistryError(f"registry {self.host}: referrer {referrer.digest} is gone")
        layers = json.loads(found[2]).get("layers") or []
        if not layers:
            raise RegistryError(f"registry {self.host}: referrer {referrer.digest} has no blob")
        return str(layers[0].get("mediaType", "")), self.blob(repository, str(layers[0]["digest"]))
