"""One connection to a registry: its address (host, namespace), the
transport with its login, and the raw manifest and blob reads and writes
every question of ``RegistryClient`` is made of."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from pulumi_mlenv.closing import Closing
from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry._http import Transport
from pulumi_mlenv.registry.manifests import (
    ABSENT_CODES,
    ACCEPT,
    error_codes,
    media_type_of,
    pick_platform,
    sha256,
)
from pulumi_mlenv.registry.reference import split_address

__all__ = ["READ_RETRIES", "RegistrySession"]

#: Seconds to wait before each repeat of a manifest read the registry
#: answered with a server error.
READ_RETRIES = (0.2, 0.5, 1.0)


class RegistrySession(Closing):
    """The connection ``RegistryClient`` asks its questions over (see there
    for the address, the auth and the one-client-per-operation rule)."""

    def __init__(
        self,
        address: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ca_bundle: str | None = None,
    ) -> None:
        scheme, host, namespace = split_address(address)
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

    def repository_for(self, name: str) -> str:
        """The full repository path of ``name`` under this client's namespace
        (``mlenv/env`` -> ``team-a/mlenv/env``)."""
        name = name.strip("/")
        return f"{self.namespace}/{name}" if self.namespace else name

    # -- helpers ---------------------------------------------------------

    def _store_manifest(
        self, repository: str, reference: str, body: bytes, kind: str, *, doing: str
    ) -> requests.Response:
        """``PUT`` ``body`` as the manifest ``repository:reference``; a refusal
        raises ``RegistryError`` saying what was being done."""
        response = self._t.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull,push",
            headers={"Content-Type": kind},
            data=body,
        )
        if response.status_code not in (200, 201):
            raise self._failure(response, f"{doing} {repository}:{reference}")
        return response

    def _platform_manifest(
        self, repository: str, reference: str, index: dict[str, Any], scope: str
    ) -> tuple[str, dict[str, Any]] | None:
        """``(digest, document)`` of the ``linux/amd64`` image an index names
        (else its first), None when the registry does not have it."""
        entry = pick_platform(index.get("manifests") or [], repository, reference)
        sub = self._get_manifest(repository, str(entry["digest"]), scope)
        return None if sub is None else (sub[0], sub[2])

    def _get_manifest(
        self, repository: str, reference: str, scope: str
    ) -> tuple[str, str, dict[str, Any], bytes] | None:
        path = f"/v2/{repository}/manifests/{reference}"
        response = self._t.request("GET", path, scope=scope, headers=ACCEPT)
        for wait in READ_RETRIES:
            # A read is safe to repeat: a registry answers 500 to a read of a
            # tag another client is rewriting that very moment (the storage
            # of docker's registry rewrites a tag's file in place).
            if response.status_code < 500:
                break
            time.sleep(wait)
            response = self._t.request("GET", path, scope=scope, headers=ACCEPT)
        if response.status_code == 404 or (
            response.status_code != 200 and ABSENT_CODES & set(error_codes(response))
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
        digest = response.headers.get("Docker-Content-Digest") or sha256(body)
        return digest, media_type_of(response, doc), doc, body

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
        codes = ", ".join(c for c in error_codes(response) if c)
        detail = f" ({codes})" if codes else ""
        return RegistryError(f"registry {self.host}: {doing}: HTTP {response.status_code}{detail}")
