"""OCI registry access: references, manifest digests and details, tags, base image resolution.

The Docker SDK cannot ask a registry anything without pulling, so this room
speaks the distribution API over ``requests``. See docs/registry.md.

Public names are imported on first use: resolving a base tag on a plain-HTTP
registry (``plain_head``) must not pay for ``requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.lazy import lazy_names

if TYPE_CHECKING:
    from pulumi_mlenv.registry._count import request_count, reset_request_count
    from pulumi_mlenv.registry.client import MANIFEST_MEDIA_TYPES, ManifestInfo, RegistryClient
    from pulumi_mlenv.registry.hosts import is_insecure_host
    from pulumi_mlenv.registry.reference import DOCKER_HUB, ImageRef, InvalidImageRef
    from pulumi_mlenv.registry.resolve import clear_resolve_cache, resolve_base_image

_HOME = {
    **dict.fromkeys(("request_count", "reset_request_count"), "pulumi_mlenv.registry._count"),
    **dict.fromkeys(
        ("MANIFEST_MEDIA_TYPES", "ManifestInfo", "RegistryClient"), "pulumi_mlenv.registry.client"
    ),
    "is_insecure_host": "pulumi_mlenv.registry.hosts",
    **dict.fromkeys(
        ("DOCKER_HUB", "ImageRef", "InvalidImageRef"), "pulumi_mlenv.registry.reference"
    ),
    **dict.fromkeys(("clear_resolve_cache", "resolve_base_image"), "pulumi_mlenv.registry.resolve"),
}


__getattr__ = lazy_names(__name__, _HOME)


__all__ = [
    "DOCKER_HUB",
    "MANIFEST_MEDIA_TYPES",
    "ImageRef",
    "InvalidImageRef",
    "ManifestInfo",
    "RegistryClient",
    "clear_resolve_cache",
    "is_insecure_host",
    "request_count",
    "reset_request_count",
    "resolve_base_image",
]
