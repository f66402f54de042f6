"""OCI registry access: references, manifest digests and details, tags, base image resolution.

The Docker SDK cannot ask a registry anything without pulling, so this room
speaks the distribution API over ``requests``. See docs/registry.md.
"""

from pulumi_mlenv.registry._http import is_insecure_host, request_count, reset_request_count
from pulumi_mlenv.registry.client import MANIFEST_MEDIA_TYPES, ManifestInfo, RegistryClient
from pulumi_mlenv.registry.reference import DOCKER_HUB, ImageRef, InvalidImageRef
from pulumi_mlenv.registry.resolve import clear_resolve_cache, resolve_base_image

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
