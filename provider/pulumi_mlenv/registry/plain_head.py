"""A tag's manifest digest from a plain-HTTP registry (loopback, or one
listed in ``MLENV_INSECURE_REGISTRIES``) with the standard library.

Resolving a base tag is one ``HEAD`` request, but importing ``requests``
(the registry client's transport) costs about a tenth of a second, more
than the rest of a trivial host run. When the registry is spoken to over
plain HTTP, with no credentials and no proxy in the environment, this asks
the same question (``HEAD /v2/<repository>/manifests/<tag>`` with the same
``Accept``) with ``http.client``. Only a 200 that names the digest is an
answer; anything else (an auth challenge, a 404, an error, a registry that
leaves the digest out) returns ``None`` and the caller asks through the
registry client, which answers or reports as it always has.
"""

from __future__ import annotations

import http.client
import os

from pulumi_mlenv.registry._count import count
from pulumi_mlenv.registry.hosts import is_insecure_host

__all__ = ["MANIFEST_ACCEPT", "plain_http_digest"]

#: The manifest media types the registry client accepts, in its order.
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


def plain_http_digest(host: str, repository: str, tag: str, timeout: float = 10.0) -> str | None:
    """The digest ``repository:tag`` points to on ``host``, or ``None`` when
    this check cannot say (see the module's note)."""
    if not is_insecure_host(host) or any(os.environ.get(v) for v in _PROXY_VARIABLES):
        return None
    name, _, port = host.partition(":")
    if host.startswith("[") or (port and not port.isdigit()) or host == "docker.io":
        return None
    connection = http.client.HTTPConnection(name, int(port) if port else 80, timeout=timeout)
    try:
        count()
        connection.request(
            "HEAD", f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT}
        )
        response = connection.getresponse()
        digest = response.getheader("Docker-Content-Digest")
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if response.status == 200 and digest and digest.startswith("sha256:"):
        return digest
    return None
