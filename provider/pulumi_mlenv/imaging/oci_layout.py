"""An OCI image layout in a tar file (OCI image spec, "image layout"):
``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``, the format
``skopeo``, ``oras``, ``crane`` and containerd read. mlenv bundles are one.

The writer streams blobs into the tar as they are added (a blob is written
once, whatever the number of images sharing it); the reader gives each
blob as a stream, checked against its digest on use by the caller.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import IO, Any

from pulumi_mlenv.closing import Closing
from pulumi_mlenv.errors import MlenvError

__all__ = ["LAYOUT_VERSION", "LayoutReader", "LayoutWriter"]

LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _blob_path(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64 or not value.isalnum():
        raise MlenvError(f"bundle: unexpected blob digest {digest!r}")
    return f"blobs/sha256/{value}"


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


class LayoutWriter(Closing):
    """Write a layout into ``path`` (a tar); ``close`` adds ``index.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".part")
        self._tar = tarfile.open(self._tmp, "w")  # noqa: SIM115 (closed by close/abort)
        self._seen: set[str] = set()
        self.manifests: list[dict[str, Any]] = []
        self._bytes(LAYOUT_VERSION_BYTES, "oci-layout")

    def _bytes(self, data: bytes, name: str) -> None:
        self._tar.addfile(_info(name, len(data)), io.BytesIO(data))

    def has(self, digest: str) -> bool:
        return digest in self._seen

    def add_bytes(self, digest: str, data: bytes) -> None:
        """Add a blob given as bytes (a manifest, a config, an artifact)."""
        if digest not in self._seen:
            self._seen.add(digest)
            self._bytes(data, _blob_path(digest))

    def add_file(self, digest: str, source: Path) -> None:
        """Add a blob from a file (a layer), streamed."""
        if digest not in self._seen:
            self._seen.add(digest)
            with source.open("rb") as stream:
                self._tar.addfile(_info(_blob_path(digest), source.stat().st_size), stream)

    def close(self) -> None:
        """Finish: ``index.json`` lists ``manifests``; the tar is moved into place."""
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.manifests}
        self._bytes(json.dumps(index, indent=2, sort_keys=True).encode(), "index.json")
        self._tar.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._tar.close()
        self._tmp.unlink(missing_ok=True)


LAYOUT_VERSION_BYTES = json.dumps(LAYOUT_VERSION).encode()


class LayoutReader:
    """Read a layout from a tar file: its index and its blobs."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close)
        except (OSError, tarfile.TarError) as exc:
            raise MlenvError(f"bundle {path}: not a tar file ({exc})") from None
        self._members = {m.name.lstrip("./"): m for m in self._tar.getmembers() if m.isfile()}
        if "oci-layout" not in self._members or "index.json" not in self._members:
            raise MlenvError(f"bundle {path}: not an OCI image layout (no oci-layout/index.json)")
        self.index: dict[str, Any] = json.loads(self._read("index.json"))

    def _read(self, name: str) -> bytes:
        extracted = self._tar.extractfile(self._members[name])
        assert extracted is not None
        return extracted.read()

    def has(self, digest: str) -> bool:
        return _blob_path(digest) in self._members

    def blob(self, digest: str) -> bytes:
        """A (small) blob's bytes."""
        if not self.has(digest):
            raise MlenvError(f"bundle: blob {digest} is missing")
        return self._read(_blob_path(digest))

    def open_blob(self, digest: str) -> IO[bytes]:
        """A stream of a (large) blob."""
        if not self.has(digest):
            raise MlenvError(f"bundle: blob {digest} is missing")
        extracted = self._tar.extractfile(self._members[_blob_path(digest)])
        assert extracted is not None
        return extracted

    def close(self) -> None:
        self._tar.close()
