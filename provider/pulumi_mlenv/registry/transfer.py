"""Moving bytes to and from a registry: raw manifests, blobs streamed to and
from files, manifests put by digest or tag. What bundles (``mlenv bundle``)
and referrers (SBOMs, provenance) are made of.

A blob is always checked against its digest on the way in and out; a blob
the registry already has is not sent again (one ``HEAD``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, Self, cast

import requests

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry.client import RegistryClient
from pulumi_mlenv.registry.manifests import sha256 as _sha256

__all__ = ["TransferClient"]

_CHUNK = 1 << 20


class TransferClient(RegistryClient):
    """A ``RegistryClient`` that also reads and writes blobs and manifests."""

    def __enter__(self) -> Self:
        return self

    def raw_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes] | None:
        """``(digest, media type, bytes)`` of a manifest or index as stored, or
        None when absent. An index is *not* followed."""
        fetched = self._get_manifest(repository, reference, f"repository:{repository}:pull")
        if fetched is None:
            return None
        digest, media_type, _, body = fetched
        if _sha256(body) != digest:
            raise RegistryError(f"registry {self.host}: manifest {digest} has other content")
        return digest, media_type, body

    def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> tuple[str, bool]:
        """Store a manifest under a tag or its digest; ``(digest, subject
        seen)``: the second is True when the registry said it indexed the
        manifest's ``subject`` (the referrers API's ``OCI-Subject`` header)."""
        response = self._store_manifest(
            repository, reference, body, media_type, doing="putting manifest"
        )
        digest = _sha256(body)
        answered = response.headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise RegistryError(
                f"registry {self.host}: manifest stored as {answered}, not {digest}"
            )
        return digest, bool(response.headers.get("OCI-Subject"))

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository has blob ``digest`` (one ``HEAD``)."""
        response = self._t.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull"
        )
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._failure(response, f"asking for blob {digest} of {repository}")

    def push_blob(self, repository: str, data: bytes | Path, digest: str | None = None) -> str:
        """Upload a blob (bytes, or a file streamed from disk) unless the
        registry has it; return its digest. ``digest``, when given, is
        checked before anything is sent."""
        if digest is None or isinstance(data, bytes):
            computed = _sha256(data) if isinstance(data, bytes) else _file_digest(data)
            if digest is not None and computed != digest:
                raise RegistryError(f"blob {digest}: the content has digest {computed}")
            digest = computed
        if self.has_blob(repository, digest):
            return digest
        scope = f"repository:{repository}:pull,push"
        start = self._t.request("POST", f"/v2/{repository}/blobs/uploads/", scope=scope)
        if start.status_code != 202:
            raise self._failure(start, f"starting an upload to {repository}")
        location = start.headers.get("Location", "")
        if location.startswith(self.base_url):
            location = location[len(self.base_url) :]
        if location.startswith("http"):
            raise RegistryError(f"registry {self.host}: upload sent to another host")
        sep = "&" if "?" in location else "?"
        if isinstance(data, bytes):
            done = self._put(location + f"{sep}digest={digest}", scope, data)
        else:
            with data.open("rb") as stream:
                done = self._put(location + f"{sep}digest={digest}", scope, stream)
        if done.status_code != 201:
            raise self._failure(done, f"uploading blob {digest} to {repository}")
        return digest

    def _put(self, path: str, scope: str, data: bytes | BinaryIO) -> requests.Response:
        return self._t.request(
            "PUT",
            path,
            scope=scope,
            headers={"Content-Type": "application/octet-stream"},
            data=data,
        )

    def blob_to_file(self, repository: str, digest: str, path: Path) -> int:
        """Stream blob ``digest`` into ``path`` (checked against the digest);
        its size in bytes."""
        response = self._blob_stream(repository, digest)
        hasher = hashlib.sha256()
        size = 0
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as out:
            for chunk in response.iter_content(_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if "sha256:" + hasher.hexdigest() != digest:
            tmp.unlink()
            raise RegistryError(f"registry {self.host}: blob {digest} has other content")
        tmp.replace(path)
        return size

    def _blob_stream(self, repository: str, digest: str) -> requests.Response:
        """A streamed ``GET`` of blob ``digest``; ``RegistryError`` unless 200."""
        response = self._t.request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scope=f"repository:{repository}:pull",
            stream=True,
        )
        if response.status_code != 200:
            raise self._failure(response, f"reading blob {digest} of {repository}")
        return response

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        """A stream of blob ``digest`` (unchecked: for reading a few files
        out of a layer without keeping it)."""
        response = self._blob_stream(repository, digest)
        response.raw.decode_content = True
        return cast(BinaryIO, response.raw)


def _file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()
