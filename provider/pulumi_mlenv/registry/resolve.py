"""Base image tags to digests (a base tag is resolved to a digest): a moved tag must give a new
hash.

Order of answers: a reference that carries a digest is its own answer (no
request); else the registry's manifest digest for the tag; else, when the
registry cannot be reached or does not have the tag, the local Docker
engine's image ID (an image built or imported locally and never pushed).
When neither answers, a ``RegistryError`` says what was tried.

Answers are cached in-process for ``CACHE_SECONDS`` (30 s): Pulumi calls
``check`` several times per preview, for every environment, in one provider
process that lives for one command; a preview of 100 environments on one
base tag then asks the registry once, and a tag moved between two commands
is still seen by the next one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from pulumi_mlenv.errors import RegistryError
from pulumi_mlenv.registry.plain_head import plain_http_digest
from pulumi_mlenv.registry.reference import DOCKER_HUB, ImageRef

__all__ = ["CACHE_SECONDS", "clear_resolve_cache", "resolve_base_image"]

CACHE_SECONDS = 30.0
_ENGINE_TIMEOUT = 5
_cache: dict[tuple[str, str | None], tuple[float, str]] = {}
_cache_lock = threading.Lock()


def clear_resolve_cache() -> None:
    """Forget every cached answer (tests that move a tag call this)."""
    with _cache_lock:
        _cache.clear()


def _local_image_id(
    ref: ImageRef, docker_host: str | None, *, registry_down: bool = False
) -> tuple[str | None, str]:
    """(image ID or None, what was tried and why it gave nothing).

    With ``registry_down``, a local image that came from (or was pushed to)
    the reference's registry is not an answer: the registry is where its tag
    lives, and the local copy may be stale. Only an image that never met the
    registry (built or tagged locally) stands for itself."""
    import docker  # deferred: importing the SDK costs ~0.1 s, most calls never get here
    from docker.errors import DockerException, ImageNotFound

    where = docker_host or "the engine from DOCKER_HOST"
    # The engine stores Docker Hub images under their short names.
    local_name = str(ref)
    if ref.registry == DOCKER_HUB:
        short = ref.repository.removeprefix("library/")
        local_name = f"{short}:{ref.tag or 'latest'}"
    try:
        client = (
            docker.DockerClient(base_url=docker_host, timeout=_ENGINE_TIMEOUT)
            if docker_host
            else docker.from_env(timeout=_ENGINE_TIMEOUT)
        )
    except DockerException as exc:
        return None, f"local engine {where}: {' '.join(str(exc).split())[:200]}"
    try:
        image = client.images.get(local_name)
        repository = local_name.rsplit(":", 1)[0] if "/" in local_name else local_name
        met = [d for d in image.attrs.get("RepoDigests") or [] if d.split("@")[0] == repository]
        if registry_down and met:
            return None, (
                f"the local engine's {local_name} came from that registry and may be stale, "
                "so it is not used; start the registry, or pin the base by digest "
                f"({met[0]})"
            )
        return str(image.id), ""
    except ImageNotFound:
        return None, f"local engine {where}: no image {local_name}"
    except DockerException as exc:
        return None, f"local engine {where}: {' '.join(str(exc).split())[:200]}"
    finally:
        client.close()


def resolve_base_image(
    ref: str,
    *,
    docker_host: str | None = None,
    ca_bundle: str | None = None,
    credentials: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The digest that ``ref`` stands for now.

    ``credentials`` maps a registry host (``ghcr.io``, ``127.0.0.1:5000``) to
    ``(username, password)``. Returns ``sha256:...``: the reference's own
    digest, the registry's manifest digest, or the local engine's image ID.
    Raises ``InvalidImageRef`` for a malformed ``ref`` and ``RegistryError``
    naming both places tried when neither knows the image.
    """
    parsed = ImageRef.parse(ref)
    if parsed.digest is not None:
        return parsed.digest
    key = (str(parsed), docker_host)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]

    user, password = (credentials or {}).get(parsed.registry, (None, None))
    tag = parsed.tag or "latest"
    registry_down = False
    digest = plain_http_digest(parsed.registry, parsed.repository, tag) if not user else None
    if digest is not None:
        with _cache_lock:
            _cache[key] = (time.monotonic(), digest)
        return digest
    from pulumi_mlenv.registry.client import RegistryClient

    with RegistryClient(
        parsed.registry, username=user, password=password, ca_bundle=ca_bundle
    ) as client:
        try:
            digest = client.digest_of(parsed.repository, tag)
            registry_said = f"registry {parsed.registry}: no {parsed.repository}:{tag}"
        except RegistryError as exc:
            digest, registry_said, registry_down = None, str(exc), True
    if digest is None:
        digest, engine_said = _local_image_id(parsed, docker_host, registry_down=registry_down)
        if digest is None:
            raise RegistryError(f"cannot resolve base image {ref}: {registry_said}; {engine_said}")
    with _cache_lock:
        _cache[key] = (time.monotonic(), digest)
    return digest
