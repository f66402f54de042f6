"""Provider-wide settings, read from the environment.

Pulumi programs set them through ``mlenv:*`` stack config (see
``resources.settings``), which falls back to these variables. Every setting has
a default that works on a developer machine prepared by ``make setup``.

| setting            | variable               | default                                       |
|--------------------|------------------------|-----------------------------------------------|
| default base image | MLENV_BASE_IMAGE       | 127.0.0.1:5000/mlenv/python:3.11-bookworm      |
| workspace registry | MLENV_REGISTRY         | 127.0.0.1:5000                                |
| global registry    | MLENV_GLOBAL_REGISTRY  | (none: curated images are built on first use)  |
| CA bundle          | MLENV_CA_BUNDLE        | the host's bundle when one exists              |
| installer          | MLENV_INSTALLER        | uv (or pip)                                   |
| BuildKit daemon    | BUILDKIT_HOST          | unix:///run/pulumi-mlenv/buildkitd.sock        |
| Docker engine      | DOCKER_HOST            | unix:///var/run/docker.sock                   |
| cache folder       | MLENV_CACHE_DIR        | $XDG_CACHE_HOME/pulumi-mlenv or ~/.cache/...   |
| workspace          | MLENV_WORKSPACE        | workspace.db in the per-user state folder      |
| model store        | MLENV_MODEL_STORE      | models/ in the cache folder                   |
| inference server   | MLENV_INFERENCE_SERVER | azureml-inference-server-http==1.5.1          |
| run folders        | MLENV_RUNS_DIR         | runs/ in the cache folder (logs, outputs)     |
| Spark              | SPARK_HOME             | the pyspark that scripts/setup-spark.sh installs |
| registry login     | MLENV_REGISTRY_USERNAME and MLENV_REGISTRY_PASSWORD (MLENV_REGISTRY's host) |
| build lease expiry | MLENV_LEASE_SECONDS    | 60 (SQLite workspace: frees a dead builder's) |
| plain-HTTP hosts   | MLENV_INSECURE_REGISTRIES | loopback only (host or host:port, commas) |
| buildctl binary    | MLENV_BUILDCTL         | PATH, then the cache folder's BuildKit         |
| signing key        | MLENV_SIGNING_KEY      | none (PEM file; MLENV_SIGNING_KEY_PASSWORD)    |

A variable that is unset falls back to what ``make setup`` recorded in
``<state folder>/setup.json`` (the per-user state folder,
``$MLENV_SERVICES_STATE`` or ``$XDG_STATE_HOME/pulumi-mlenv`` or
``~/.local/state/pulumi-mlenv``): the tools it built and the daemons it
started. So ``mlenv`` works from any shell, with nothing sourced, and the
CLI, the ``make`` recipes and Pulumi programs share one default workspace.

This module is the only one that reads the process environment for
settings; the rest of the code receives them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = [
    "HOST_CA_BUNDLES",
    "Settings",
    "buildctl_override",
    "default_workspace_url",
    "docker_login",
    "inflight_dir",
    "insecure_registries",
    "log_dir",
    "services_state_dir",
    "setup_record",
]

DEFAULT_BASE_IMAGE = "127.0.0.1:5000/mlenv/python:3.11-bookworm"
DEFAULT_REGISTRY = "127.0.0.1:5000"
DEFAULT_BUILDKIT_HOST = "unix:///run/pulumi-mlenv/buildkitd.sock"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
INSTALLERS = ("uv", "pip")
#: The package that serves models as web services (added to system-managed
#: environments' inference images; user-managed ones must contain it).
DEFAULT_INFERENCE_SERVER = "azureml-inference-server-http==1.5.1"

# Where Debian/Ubuntu, Fedora/RHEL and Alpine keep the system bundle.
HOST_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)


def _host_ca_bundle() -> str | None:
    return next((p for p in HOST_CA_BUNDLES if Path(p).is_file()), None)


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pulumi-mlenv"


def services_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user state folder of the machine-wide services (registry
    storage, BuildKit's configuration, the default workspace, setup.json)."""
    env = os.environ if env is None else env
    if env.get("MLENV_SERVICES_STATE"):
        return Path(env["MLENV_SERVICES_STATE"])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "pulumi-mlenv"


#: The keys of setup.json that stand in for an unset variable.
SETUP_KEYS = (
    "BUILDKIT_HOST",
    "DOCKER_HOST",
    "MLENV_REGISTRY",
    "MLENV_BASE_IMAGE",
    "MLENV_BUILDCTL",
)


def setup_record(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What ``make setup`` recorded (``setup.json`` in the state folder):
    ``{variable: value}`` for the ``SETUP_KEYS``; empty when there is none
    or it cannot be read (the built-in defaults then apply)."""
    path = services_state_dir(env) / "setup.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in SETUP_KEYS and isinstance(v, str) and v}


def _with_setup(env: Mapping[str, str]) -> dict[str, str]:
    """The variables, with what setup recorded for those that are unset."""
    merged = dict(env)
    for key, value in setup_record(env).items():
        if not merged.get(key):
            merged[key] = value
    return merged


def default_workspace_url(env: Mapping[str, str] | None = None) -> str:
    """The one default workspace: ``workspace.db`` in the per-user state folder."""
    return f"sqlite:///{services_state_dir(env) / 'workspace.db'}"


def _credentials_from_env(env: Mapping[str, str]) -> tuple[tuple[str, str, str], ...]:
    user, password = env.get("MLENV_REGISTRY_USERNAME"), env.get("MLENV_REGISTRY_PASSWORD")
    if not (user and password):
        return ()
    host = (env.get("MLENV_REGISTRY") or DEFAULT_REGISTRY).split("/", 1)[0]
    return ((host, user, password),)


def insecure_registries(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Hosts (``host`` or ``host:port``, lower case) spoken to over plain HTTP
    besides loopback ones: ``MLENV_INSECURE_REGISTRIES``, comma-separated."""
    env = os.environ if env is None else env
    listed = env.get("MLENV_INSECURE_REGISTRIES", "").split(",")
    return frozenset(h.strip().lower() for h in listed if h.strip())


def buildctl_override(env: Mapping[str, str] | None = None) -> tuple[str | None, Path]:
    """(``MLENV_BUILDCTL``, else the one setup built, or None; the cache
    folder) for finding ``buildctl``."""
    env = os.environ if env is None else env
    cache = Path(env.get("MLENV_CACHE_DIR") or _default_cache_dir(env))
    explicit = env.get("MLENV_BUILDCTL") or setup_record(env).get("MLENV_BUILDCTL")
    return explicit or None, cache


def docker_login(host: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The login ``docker login HOST`` stored: Docker's ``config.json`` (in
    ``$DOCKER_CONFIG`` or ``~/.docker``), its ``auths`` and its credential
    helpers (``credsStore``, ``credHelpers``), read by the Docker SDK. None
    when there is none, or the file cannot be read."""
    env = os.environ if env is None else env
    folder = env.get("DOCKER_CONFIG")
    path = Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"
    if not path.is_file():
        return None
    from docker.auth import load_config  # deferred: only when a login is needed
    from docker.errors import DockerException

    try:
        entry = load_config(config_path=str(path)).resolve_authconfig(host)
    except (DockerException, OSError, ValueError):
        return None
    if not entry:
        return None
    user = entry.get("username") or entry.get("Username")
    secret = entry.get("password") or entry.get("Password") or entry.get("Secret")
    return (str(user), str(secret)) if user and secret else None


def log_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where full logs of failed builds are kept: ``<cache folder>/logs``."""
    env = os.environ if env is None else env
    return Path(env.get("MLENV_CACHE_DIR") or _default_cache_dir(env)) / "logs"


def inflight_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where a provider notes what it is doing, for the program of the same
    ``pulumi up`` to say if it dies (``resources._inflight``)."""
    env = os.environ if env is None else env
    return Path(env.get("MLENV_CACHE_DIR") or _default_cache_dir(env)) / "inflight"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the build and registry code needs to know about the machine."""

    base_image: str = DEFAULT_BASE_IMAGE
    registry: str = DEFAULT_REGISTRY
    global_registry: str | None = None
    ca_bundle: str | None = None
    installer: str = "uv"
    buildkit_host: str = DEFAULT_BUILDKIT_HOST
    docker_host: str = DEFAULT_DOCKER_HOST
    cache_dir: Path = Path("~/.cache/pulumi-mlenv")
    workspace_url: str = ""
    #: Where registered models are kept, one folder per content hash.
    model_store: Path = Path("~/.cache/pulumi-mlenv/models")
    #: Requirement of the inference server added to inference images.
    inference_server: str = DEFAULT_INFERENCE_SERVER
    #: Expiry of a SQLite workspace's build lease; a heartbeat renews it every third.
    lease_seconds: float = 60.0
    #: One folder per run: ``<runs_dir>/<id>/output.log`` and ``outputs/``.
    runs_dir: Path = Path("~/.cache/pulumi-mlenv/runs")
    #: Folder with ``bin/spark-submit``; ``None``: the one setup installed, or PATH.
    spark_home: str | None = None
    #: PEM private key (Ed25519 or ECDSA P-256) that signs SBOMs and
    #: provenance (docs/supply-chain.md); None: they are attached unsigned.
    signing_key: str | None = None
    #: The key file's password, if it has one; never printed.
    signing_key_password: str | None = field(default=None, repr=False)
    #: ``(host, username, password)`` registry logins; never printed.
    registry_credentials: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)

    def logins(self) -> dict[str, tuple[str, str]]:
        """``{host: (username, password)}`` of every known registry login."""
        return {host: (user, password) for host, user, password in self.registry_credentials}

    def login_for(self, address: str) -> tuple[str | None, str | None]:
        """``(username, password)`` for a registry address
        (``host[:port][/namespace]``): a login given to us (resource, stack
        config, ``MLENV_REGISTRY_*``), else the one ``docker login`` stored;
        ``(None, None)`` for an anonymous registry."""
        host = address.split("/", 1)[0]
        for known, username, password in self.registry_credentials:
            if known == host:
                return username, password
        stored = docker_login(host)
        return stored if stored else (None, None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from environment variables (``os.environ`` by default).

        An empty ``MLENV_CA_BUNDLE`` turns the CA bundle off; unset picks the
        host's bundle when there is one.
        """
        env = _with_setup(os.environ if env is None else env)
        cache_dir = Path(env.get("MLENV_CACHE_DIR") or _default_cache_dir(env))
        ca = env["MLENV_CA_BUNDLE"] if "MLENV_CA_BUNDLE" in env else _host_ca_bundle()
        return cls(
            base_image=env.get("MLENV_BASE_IMAGE") or DEFAULT_BASE_IMAGE,
            registry=env.get("MLENV_REGISTRY") or DEFAULT_REGISTRY,
            global_registry=env.get("MLENV_GLOBAL_REGISTRY") or None,
            ca_bundle=ca or None,
            installer=(env.get("MLENV_INSTALLER") or "uv").lower(),
            buildkit_host=env.get("BUILDKIT_HOST") or DEFAULT_BUILDKIT_HOST,
            docker_host=env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST,
            cache_dir=cache_dir,
            workspace_url=env.get("MLENV_WORKSPACE") or default_workspace_url(env),
            registry_credentials=_credentials_from_env(env),
            model_store=Path(env.get("MLENV_MODEL_STORE") or cache_dir / "models"),
            inference_server=env.get("MLENV_INFERENCE_SERVER") or DEFAULT_INFERENCE_SERVER,
            lease_seconds=float(env.get("MLENV_LEASE_SECONDS") or 60.0),
            runs_dir=Path(env.get("MLENV_RUNS_DIR") or cache_dir / "runs"),
            spark_home=env.get("SPARK_HOME") or None,
            signing_key=env.get("MLENV_SIGNING_KEY") or None,
            signing_key_password=env.get("MLENV_SIGNING_KEY_PASSWORD") or None,
        )

    def with_logins(self, *logins: tuple[str, str | None, str | None]) -> Settings:
        """A copy where ``(address, username, password)`` logins (complete
        ones only) come before the known ones; an address is reduced to its host."""
        given = tuple(
            (address.split("/", 1)[0], user, password)
            for address, user, password in logins
            if address and user and password
        )
        if not given:
            return self
        return replace(self, registry_credentials=(*given, *self.registry_credentials))

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given non-None fields replaced (Pulumi config wins)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
