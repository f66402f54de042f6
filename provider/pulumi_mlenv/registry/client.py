"""A small OCI distribution API client: ask a registry about manifests without pulling.

Answers are three-valued where existence is asked: a digest (present), ``None``
(the registry said 404 / ``MANIFEST_UNKNOWN`` / ``NAME_UNKNOWN``), or a
``RegistryError`` (anything else: unreachable, refused, a 5xx). Unknown is an
error, never a guess (style.md, flyteorg/flyte#6460).

Manifests are never deleted here: images are content addressed and shared by
every environment version with the same hash (pulumi-docker-build#606).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry._http import Transport

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "ManifestInfo",
    "RegistryClient",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST)
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_ACCEPT = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
_ABSENT_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})


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


def _error_codes(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("code", "")) for e in errors if isinstance(e, dict)]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _media_type(response: requests.Response, doc: dict[str, Any]) -> str:
    header = response.headers.get("Content-Type", "").split(";")[0].strip()
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return header


class RegistryClient:
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

    def __init__(
        self,
        address: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ca_bundle: str | None = None,
    ) -> None:
        text = address.strip()
        scheme: str | None = None
        for prefix in ("http://", "https://"):
            if text.startswith(prefix):
                scheme, text = prefix[:-3], text[len(prefix) :]
        host, _, namespace = text.strip("/").partition("/")
        if not host or any(c.isspace() or c in "@?#" for c in text):
            raise RegistryError(
                f"invalid registry address {address!r}: expected host[:port][/namespace]"
            )
        self.host = host
        self.namespace = namespace.strip("/")
        self._t = Transport(
            host,
            username=username,
            password=password,
            timeout=timeout,
            ca_bundle=ca_bundle,
            scheme=scheme,
        )

    def __repr__(self) -> str:
        return f"RegistryClient({self.address!r})"

    @property
    def address(self) -> str:
        """``host`` or ``host/namespace``, as given (without scheme)."""
        return f"{self.host}/{self.namespace}" if self.namespace else self.host

    @property
    def base_url(self) -> str:
        """The URL requests go to (``http://127.0.0.1:5000``)."""
        return self._t.base_url

    def close(self) -> None:
        """Release pooled connections."""
        self._t.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def repository_for(self, name: str) -> str:
        """The full repository path of ``name`` under this client's namespace
        (``mlenv/env`` -> ``team-a/mlenv/env``)."""
        name = name.strip("/")
        return f"{self.namespace}/{name}" if self.namespace else name

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
        response = self._t.request("HEAD", path, scope=scope, headers=_ACCEPT)
        if response.status_code == 200:
            digest = response.headers.get("Docker-Content-Digest")
            if digest:
                return digest
        elif response.status_code == 404:
            return None
        # No digest header, or an unexpected status: a GET shows body and error codes.
        response = self._t.request("GET", path, scope=scope, headers=_ACCEPT)
        if response.status_code == 200:
            return response.headers.get("Docker-Content-Digest") or _sha256(response.content)
        if response.status_code == 404 or _ABSENT_CODES & set(_error_codes(response)):
            return None
        raise self._failure(response, f"asking for {repository}:{reference}")

    def manifest_info(self, repository: str, reference: str) -> ManifestInfo | None:
        """Details of ``repository:reference`` from its manifest and config blob,
        or ``None`` when the registry does not have it (see ``ManifestInfo``)."""
        scope = f"repository:{repository}:pull"
        fetched = self._get_manifest(repository, reference, scope)
        if fetched is None:
            return None
        digest, media_type, doc, _ = fetched
        image_doc = doc
        if media_type in _INDEX_TYPES or "manifests" in doc:
            entry = _pick_platform(doc.get("manifests") or [], repository, reference)
            sub = self._get_manifest(repository, str(entry["digest"]), scope)
            if sub is None:
                raise RegistryError(
                    f"registry {self.host}: index {repository}@{digest} names "
                    f"{entry['digest']} which the registry does not have"
                )
            image_doc = sub[2]
        config = image_doc.get("config")
        layers = image_doc.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            raise RegistryError(
                f"registry {self.host}: manifest {repository}@{digest} has an unsupported "
                f"format ({media_type or 'no media type'})"
            )
        size = int(config.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in layers)
        config_digest = str(config.get("digest", ""))
        blob = self._get_blob_json(repository, config_digest, scope)
        inner = blob.get("config") if isinstance(blob.get("config"), dict) else {}
        labels = inner.get("Labels") if isinstance(inner, dict) else None
        created = blob.get("created")
        return ManifestInfo(
            digest=digest,
            media_type=media_type,
            size=size,
            config_digest=config_digest,
            created=created if isinstance(created, str) else None,
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            layers=tuple(str(layer.get("digest", "")) for layer in layers),
            layer_sizes=tuple(int(layer.get("size", 0)) for layer in layers),
        )

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
            link = response.headers.get("Link", "")
            path = link[link.find("<") + 1 : link.find(">")] if 'rel="next"' in link else ""
        return found[:limit]

    def read_file(
        self, repository: str, info: ManifestInfo, path: str, *, max_layer_bytes: int
    ) -> bytes | None:
        """The content of ``path`` (``opt/mlenv/lock.txt``) in the image ``info``
        describes, from its last layer holding it; None when no layer up to
        ``max_layer_bytes`` (compressed) has it. Layers are read in memory,
        never written to disk."""
        import tarfile

        wanted = path.lstrip("/")
        scope = f"repository:{repository}:pull"
        for digest, size in reversed(list(zip(info.layers, info.layer_sizes, strict=False))):
            if size > max_layer_bytes:
                continue
            response = self._t.request("GET", f"/v2/{repository}/blobs/{digest}", scope=scope)
            if response.status_code != 200:
                raise self._failure(response, f"reading layer {digest} of {repository}")
            try:
                with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:*") as tar:
                    for member in tar:
                        if member.name.lstrip("./") == wanted and member.isfile():
                            extracted = tar.extractfile(member)
                            return extracted.read() if extracted is not None else None
            except (tarfile.TarError, OSError, EOFError):
                continue  # not a tar layer (an attestation, a foreign format)
        return None

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """``(digest, manifest document)`` of ``repository:reference``, or
        ``None`` when absent. An index is followed to its ``linux/amd64``
        image manifest (whose digest is then the one returned)."""
        scope = f"repository:{repository}:pull"
        fetched = self._get_manifest(repository, reference, scope)
        if fetched is None:
            return None
        digest, media_type, doc, _ = fetched
        if media_type in _INDEX_TYPES or "manifests" in doc:
            entry = _pick_platform(doc.get("manifests") or [], repository, reference)
            sub = self._get_manifest(repository, str(entry["digest"]), scope)
            if sub is None:
                return None
            digest, doc = sub[0], sub[2]
        return digest, doc

    def blob(self, repository: str, digest: str) -> bytes:
        """The bytes of blob ``digest`` (a config or a layer), checked
        against the digest. Raises ``RegistryError`` when it cannot be read."""
        scope = f"repository:{repository}:pull"
        response = self._t.request("GET", f"/v2/{repository}/blobs/{digest}", scope=scope)
        if response.status_code != 200:
            raise self._failure(response, f"reading blob {digest} of {repository}")
        if _sha256(response.content) != digest:
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
        _, media_type, _, body = fetched
        response = self._t.request(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            scope=f"repository:{repository}:pull,push",
            headers={"Content-Type": media_type},
            data=body,
        )
        if response.status_code not in (200, 201):
            raise self._failure(response, f"tagging {repository}:{tag}")
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
            link = response.headers.get("Link", "")
            path = link.split(";")[0].strip("<> ") if 'rel="next"' in link else None
        return found

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload ``data`` as a blob of ``repository`` (nothing when it is there
        already); returns its digest."""
        digest = _sha256(data)
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
        response = self._t.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull,push",
            headers={"Content-Type": media_type},
            data=body,
        )
        if response.status_code not in (200, 201):
            raise self._failure(response, f"storing {repository}:{reference}")
        return response.headers.get("Docker-Content-Digest") or _sha256(body)

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

    # -- helpers ---------------------------------------------------------

    def _get_manifest(
        self, repository: str, reference: str, scope: str
    ) -> tuple[str, str, dict[str, Any], bytes] | None:
        response = self._t.request(
            "GET", f"/v2/{repository}/manifests/{reference}", scope=scope, headers=_ACCEPT
        )
        if response.status_code == 404 or (
            response.status_code != 200 and _ABSENT_CODES & set(_error_codes(response))
        ):
            return None
        if response.status_code != 200:
            raise self._failure(response, f"reading manifest {repository}:{reference}")
        body = response.content
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(
                f"registry {self.host}: manifest {repository}:{reference} is not JSON"
            ) from None
        if not isinstance(doc, dict):
            raise RegistryError(f"registry {self.host}: manifest {repository}:{reference} is odd")
        digest = response.headers.get("Docker-Content-Digest") or _sha256(body)
        return digest, _media_type(response, doc), doc, body

    def _get_blob_json(self, repository: str, digest: str, scope: str) -> dict[str, Any]:
        response = self._t.request("GET", f"/v2/{repository}/blobs/{digest}", scope=scope)
        if response.status_code != 200:
            raise self._failure(response, f"reading config blob {digest} of {repository}")
        try:
            doc = json.loads(response.content)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise RegistryError(f"registry {self.host}: config blob {digest} is not a JSON object")
        return doc

    def _failure(self, response: requests.Response, doing: str) -> RegistryError:
        codes = ", ".join(c for c in _error_codes(response) if c)
        detail = f" ({codes})" if codes else ""
        return RegistryError(f"registry {self.host}: {doing}: HTTP {response.status_code}{detail}")


def _pick_platform(entries: list[Any], repository: str, reference: str) -> dict[str, Any]:
    """The ``linux/amd64`` entry of an index, else the first one."""
    usable = [e for e in entries if isinstance(e, dict) and e.get("digest")]
    if not usable:
        raise RegistryError(f"index {repository}:{reference} lists no manifests")
    for entry in usable:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return entry
    return usable[0]
