"""A small OCI distribution API client: ask a registry about manifests without pulling.

Answers are three-valued where existence is asked: a digest (present), ``None``
(the registry said 404 / ``MANIFEST_UNKNOWN`` / ``NAME_UNKNOWN``), or a
``RegistryError`` (anything else: unreachable, refused, a 5xx). Unknown is an
error, never a guess (style.md, flyteorg/flyte#6460).

Manifests are never deleted here: images are content addressed and shared by
every environment version with the same hash (pulumi-docker-build#606).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry._session import RegistrySession
from pulumi_mlenv.registry.manifests import (
    ABSENT_CODES,
    ACCEPT,
    MANIFEST_MEDIA_TYPES,
    ManifestInfo,
    error_codes,
    file_in_layer,
    is_index,
    manifest_info,
    next_page,
    pick_platform,
    sha256,
)

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "ManifestInfo",
    "RegistryClient",
]


class RegistryClient(RegistrySession):
    """A client of one registry, optionally scoped to a namespace.

    ``address`` is ``host[:port][/namespace]`` (``127.0.0.1:5000/team-a``); an
    explicit ``http://`` or ``https://`` prefix is honoured. Without one, plain
    HTTP is used for loopback hosts and for hosts in
    ``MLENV_INSECURE_REGISTRIES``, HTTPS otherwise (verified against
    ``ca_bundle`` when given, else the default trust store).

    Auth: anonymous, Basic, or the token (Bearer realm) flow, chosen by the
    registry's challenge. ``username``/``password`` are never logged nor put
    in an error message. A client holds a connection pool: build one per
    operation and ``close()`` it (or use ``with``); never keep one in a
    Pulumi provider object.
    """

    def __repr__(self) -> str:
        return f"RegistryClient({self.address!r})"

    # -- queries ---------------------------------------------------------

    def ping(self) -> None:
        """Check that the registry answers the distribution API (``GET /v2/``).

        A 401 with no credentials given counts as reachable (anonymous pulls
        may still be allowed per repository); with credentials, they must be
        accepted. Raises ``RegistryError`` with one line naming the URL tried.
        """
        url = f"{self.base_url}/v2/"
        response = self._t.request("GET", "/v2/", anonymous_401_ok=True)
        if response.status_code == 200 or (
            response.status_code == 401 and not self._t.has_credentials
        ):
            return
        raise RegistryError(
            f"registry {self.host} unreachable (tried {url}): "
            f"HTTP {response.status_code}, not a registry API answer"
        )

    def digest_of(self, repository: str, reference: str) -> str | None:
        """The manifest digest ``repository:reference`` points to, or ``None`` if absent.

        ``reference`` is a tag or a digest. Uses ``HEAD`` (one request); when a
        registry omits ``Docker-Content-Digest``, the manifest is fetched and
        hashed. Raises ``RegistryError`` when the registry cannot say.
        """
        path = f"/v2/{repository}/manifests/{reference}"
        scope = f"repository:{repository}:pull"
        response = self._t.request("HEAD", path, scope=scope, headers=ACCEPT)
        if response.status_code == 200:
            digest = response.headers.get("Docker-Content-Digest")
            if digest:
                return digest
        elif response.status_code == 404:
            return None
        # No digest header, or an unexpected status: a GET shows body and error codes.
        response = self._t.request("GET", path, scope=scope, headers=ACCEPT)
        if response.status_code == 200:
            return response.headers.get("Docker-Content-Digest") or sha256(response.content)
        if response.status_code == 404 or ABSENT_CODES & set(error_codes(response)):
            return None
        raise self._failure(response, f"asking for {repository}:{reference}")

    def manifest_info(self, repository: str, reference: str) -> ManifestInfo | None:
        """Details of ``repository:reference`` from its manifest and config blob,
        or ``None`` when the registry does not have it (see ``ManifestInfo``)."""
        scope = f"repository:{repository}:pull"
        fetched = self._get_manifest(repository, reference, scope)
        if fetched is None:
            return None
        digest, kind, doc, _ = fetched
        image_doc = doc
        if is_index(kind, doc):
            sub = self._platform_manifest(repository, reference, doc, scope)
            if sub is None:
                entry = pick_platform(doc.get("manifests") or [], repository, reference)
                raise RegistryError(
                    f"registry {self.host}: index {repository}@{digest} names "
                    f"{entry['digest']} which the registry does not have"
                )
            image_doc = sub[1]
        config = image_doc.get("config")
        if not isinstance(config, dict) or not isinstance(image_doc.get("layers"), list):
            raise RegistryError(
                f"registry {self.host}: manifest {repository}@{digest} has an unsupported "
                f"format ({kind or 'no media type'})"
            )
        blob = self._get_blob_json(repository, str(config.get("digest", "")), scope)
        return manifest_info(digest, kind, image_doc, blob)

    def repositories(self, limit: int = 10_000) -> list[str]:
        """Repository names the registry lists (``/v2/_catalog``), at most
        ``limit``; an empty list when the registry does not offer its catalog."""
        found: list[str] = []
        path = "/v2/_catalog?n=1000"
        while path and len(found) < limit:
            response = self._t.request("GET", path, scope="registry:catalog:*")
            if response.status_code != 200:
                return found
            try:
                names = response.json().get("repositories") or []
            except ValueError:
                return found
            found += [str(n) for n in names]
            path = next_page(response.headers.get("Link", "")) or ""
        return found[:limit]

    def read_file(
        self, repository: str, info: ManifestInfo, path: str, *, max_layer_bytes: int
    ) -> bytes | None:
        """The content of ``path`` (``opt/mlenv/lock.txt``) in the image ``info``
        describes, from its last layer holding it; None when no layer up to
        ``max_layer_bytes`` (compressed) has it. Layers are read in memory,
        never written to disk."""
        wanted = path.lstrip("/")
        scope = f"repository:{repository}:pull"
        for digest, size in reversed(list(zip(info.layers, info.layer_sizes, strict=False))):
            if size > max_layer_bytes:
                continue
            response = self._t.request("GET", f"/v2/{repository}/blobs/{digest}", scope=scope)
            if response.status_code != 200:
                raise self._failure(response, f"reading layer {digest} of {repository}")
            found = file_in_layer(response.content, wanted)
            if found is not None:
                return found
        return None

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """``(digest, manifest document)`` of ``repository:reference``, or
        ``None`` when absent. An index is followed to its ``linux/amd64``
        image manifest (whose digest is then the one returned)."""
        scope = f"repository:{repository}:pull"
        fetched = self._get_manifest(repository, reference, scope)
        if fetched is None:
            return None
        digest, kind, doc, _ = fetched
        if is_index(kind, doc):
            return self._platform_manifest(repository, reference, doc, scope)
        return digest, doc

    def blob(self, repository: str, digest: str) -> bytes:
        """The bytes of blob ``digest`` (a config or a layer), checked
        against the digest. Raises ``RegistryError`` when it cannot be read."""
        scope = f"repository:{repository}:pull"
        response = self._t.request("GET", f"/v2/{repository}/blobs/{digest}", scope=scope)
        if response.status_code != 200:
            raise self._failure(response, f"reading blob {digest} of {repository}")
        if sha256(response.content) != digest:
            raise RegistryError(f"registry {self.host}: blob {digest} has other content")
        return response.content

    # -- changes ---------------------------------------------------------

    def tag(self, repository: str, digest: str, tag: str) -> None:
        """Point ``repository:tag`` at the existing manifest ``digest``.

        The manifest is fetched by digest and put back under the tag with its
        own media type, byte for byte (so its digest is unchanged). Whatever
        the tag pointed to before stays pullable by its digest.
        """
        scope = f"repository:{repository}:pull"
        fetched = self._get_manifest(repository, digest, scope)
        if fetched is None:
            raise RegistryError(
                f"registry {self.host}: cannot tag {repository}:{tag}: no manifest {digest}"
            )
        _, kind, _, body = fetched
        response = self._store_manifest(repository, tag, body, kind, doing="tagging")
        answered = response.headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise RegistryError(
                f"registry {self.host}: tagging {repository}:{tag} stored {answered}, "
                f"expected {digest}"
            )

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository`` (empty when it has none or is absent),
        following the registry's pages."""
        scope = f"repository:{repository}:pull"
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        found: list[str] = []
        while path:
            response = self._t.request("GET", path, scope=scope)
            if response.status_code == 404:
                return found
            if response.status_code != 200:
                raise self._failure(response, f"listing the tags of {repository}")
            found += list(response.json().get("tags") or [])
            path = next_page(response.headers.get("Link", ""))
        return found

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload ``data`` as a blob of ``repository`` (nothing when it is there
        already); returns its digest."""
        digest = sha256(data)
        push = f"repository:{repository}:pull,push"
        head = self._t.request("HEAD", f"/v2/{repository}/blobs/{digest}", scope=push)
        if head.status_code == 200:
            return digest
        started = self._t.request("POST", f"/v2/{repository}/blobs/uploads/", scope=push)
        if started.status_code != 202:
            raise self._failure(started, f"starting an upload to {repository}")
        location = started.headers.get("Location", "")
        if "://" in location:  # absolute: requests go to our own address
            parts = urlsplit(location)
            location = parts.path + (f"?{parts.query}" if parts.query else "")
        joiner = "&" if "?" in location else "?"
        done = self._t.request(
            "PUT",
            f"{location}{joiner}digest={digest}",
            scope=push,
            headers={"Content-Type": "application/octet-stream"},
            data=data,
        )
        if done.status_code not in (201, 204):
            raise self._failure(done, f"uploading a blob to {repository}")
        return digest

    def put_hold_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        """Store ``body`` as the manifest ``repository:reference``; returns its digest."""
        response = self._store_manifest(repository, reference, body, media_type, doing="storing")
        return response.headers.get("Docker-Content-Digest") or sha256(body)

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete the manifest ``digest`` (and so every tag pointing to it) with
        the OCI API's ``DELETE /v2/<repo>/manifests/<digest>``. True when
        deleted, False when it was not there. Its blobs stay on disk until the
        registry's garbage collection runs (scripts/registry-gc.sh)."""
        if not digest.startswith("sha256:"):
            raise RegistryError(f"registry {self.host}: delete needs a digest, not {digest!r}")
        response = self._t.request(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete",
        )
        if response.status_code in (200, 202):
            return True
        if response.status_code == 404:
            return False
        if response.status_code == 405:
            raise RegistryError(
                f"registry {self.host} does not allow deletions (HTTP 405): enable them in "
                "its configuration (storage: delete: enabled: true; scripts/setup-registry.sh "
                "does for the local one)"
            )
        raise self._failure(response, f"deleting {repository}@{digest}")
