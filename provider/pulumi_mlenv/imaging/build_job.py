"""One image build as a value (``ImageBuild``), what it gives back
(``BuiltImage``), and the two facts of a definition every build step needs:
the ``uv`` binary and the credentials to redact."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.imaging.layer_plan import TimedLayer

__all__ = ["DEFAULT_COMPRESSION", "BuiltImage", "ImageBuild", "find_uv", "secrets_of"]

#: Layer compression for pushed images; see docs/building.md for the measurements.
DEFAULT_COMPRESSION = "gzip,compression-level=1"
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/@\s]+)@")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBuild:
    """One build to run: what to build and where to push it.

    ``image_name`` is ``registry/repository:tag``; ``base_ref`` the base by
    digest; ``no_cache`` ignores BuildKit's layer cache (forced rebuilds)."""

    spec: EnvironmentSpec
    env_hash: str
    image_name: str
    base_ref: str
    buildkit_host: str
    work_dir: Path
    installer: str = "uv"
    ca_bundle: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    #: ``(host, username, password)`` logins for the push (and base) registries.
    registry_auth: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    compression: str = DEFAULT_COMPRESSION
    cache_id: str = "mlenv"
    push: bool = True


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """A pushed image: manifest digest, rendered Dockerfile, lock, seconds."""

    digest: str
    dockerfile: str
    lock: tuple[str, ...]
    seconds: float
    log_tail: str
    #: The layers it made above the base, in image order, with the seconds
    #: each step took (``imaging.layer_plan``); the service records them.
    layers: tuple[TimedLayer, ...] = ()


def find_uv() -> str:
    """The uv binary the build copies in (as a named context, not a layer);
    ``BuildError`` when it is outside the recipe's range (imaging.installer)."""
    from pulumi_mlenv.imaging.installer import check_uv

    try:
        import uv

        found = str(uv.find_uv_bin())
        if found:
            return check_uv(found)
    except (ImportError, FileNotFoundError):
        pass
    which = shutil.which("uv")
    if which:
        return check_uv(which)
    raise BuildError("uv not found: install the 'uv' package or set MLENV_INSTALLER=pip")


def secrets_of(spec: EnvironmentSpec) -> list[str]:
    """Credential strings found in URLs of the definition (to redact from logs)."""
    conda = spec.python.conda
    if conda is None:
        return []
    found: list[str] = []
    for text in (*conda.pip_options, *conda.pip):
        for userinfo in _USERINFO.findall(text):
            found += [userinfo, *userinfo.split(":", 1)]
    return [s for s in found if len(s) >= 4]
