"""Facts about a built image that its SBOM and provenance need and the
build does not return: the BuildKit daemon's version, each step with the
layer it made (from the image history), the dpkg database in its layers.
"""

from __future__ import annotations

import functools
import subprocess
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from pulumi_mlenv.imaging.dpkg import STATUS_PATH
from pulumi_mlenv.imaging.provenance import Step

__all__ = ["buildkit_version", "image_steps", "read_dpkg_status"]

#: History entries of mlenv's own layers (the venv, package groups, lock):
#: never the dpkg database.
_OWN_LAYERS = ("COPY /mlenv-out/ /", "COPY /mlenv-layer/ /")
_NONE = "-\n"


@functools.cache
def buildkit_version(address: str) -> str | None:
    """What ``buildctl debug info`` says the daemon at ``address`` is
    (``v0.34.2``; ``v0.0.0+unknown`` for one built without a release
    stamp); None when it does not say."""
    from pulumi_mlenv.imaging.buildkit import buildctl_path

    try:
        done = subprocess.run(
            [buildctl_path(), "--addr", address, "debug", "info"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for line in done.stdout.splitlines():
        if line.startswith("BuildKit:"):
            return line.split()[-1]
    return None


def image_steps(manifest: dict[str, Any], config: dict[str, Any]) -> tuple[Step, ...]:
    """Each layer of an image with the history command that made it."""
    commands = [
        str(h.get("created_by", "")).strip() or "(base image)"
        for h in config.get("history") or []
        if not h.get("empty_layer")
    ]
    layers = [str(x.get("digest", "")) for x in manifest.get("layers") or []]
    if len(commands) != len(layers):  # a history that does not say: number them
        commands = [f"layer {i}" for i in range(len(layers))]
    return tuple(Step(c, d) for c, d in zip(commands, layers, strict=True))


def _status_in(stream: IO[bytes]) -> str | None:
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            if member.name.lstrip("./") == STATUS_PATH and member.isfile():
                extracted = tar.extractfile(member)
                return extracted.read().decode("utf-8", "replace") if extracted else None
    return None


def read_dpkg_status(
    steps: Sequence[Step], open_layer: Callable[[str], IO[bytes]], cache: Path
) -> str | None:
    """The dpkg database an image ends with: from the topmost layer (not
    one of mlenv's own) that has ``var/lib/dpkg/status``; None when no
    layer has one (not a Debian image). Layers are streamed, never stored;
    what a layer holds (or that it holds none) is kept in ``cache`` by
    the layer's digest, so a base is read once per machine."""
    cache.mkdir(parents=True, exist_ok=True)
    for step in reversed(steps):
        if step.name.startswith(_OWN_LAYERS):
            continue
        kept = cache / step.digest.replace(":", "-")
        if kept.is_file():
            text = kept.read_text()
        else:
            try:
                with open_layer(step.digest) as stream:
                    found = _status_in(stream)
            except (tarfile.TarError, OSError, EOFError):
                found = None  # not a tar layer
            text = _NONE if found is None else found
            tmp = kept.with_name(kept.name + ".part")
            tmp.write_text(text)
            tmp.replace(kept)
        if text != _NONE:
            return text
    return None
