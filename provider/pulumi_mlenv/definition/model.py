"""The model of an environment definition: frozen values, no I/O.

Field names are those of our YAML (snake_case). Parsing, validation and
canonicalisation live in sibling modules; this module only declares shapes.
Everything here is hashable and comparable, so definitions can be diffed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

__all__ = [
    "IDENTITY_FIELDS",
    "METADATA_FIELDS",
    "CondaSection",
    "ContextFile",
    "DockerSection",
    "EnvironmentSpec",
    "Kind",
    "PythonSection",
    "Role",
    "SparkPackage",
    "SparkSection",
    "role_of",
]


class Role(StrEnum):
    """What a field of a definition is for: said once, here, on the field.

    The hash covers identity fields only; the diff policy turns a change of
    a metadata field into an update in place (no build); provider fields are
    filled by the provider (a resolved base digest), never written by users.
    Hashing, the policy, state translation and the Pulumi resource's inputs
    are derived from these roles.
    """

    IDENTITY = "identity"
    METADATA = "metadata"
    PROVIDED = "provided"


def _role(role: Role, **kwargs: Any) -> Any:
    """A dataclass field carrying its role in ``field.metadata``."""
    return field(metadata={"role": role}, **kwargs)


def role_of(cls: type, name: str) -> Role:
    """The role of field ``name`` of a model class (identity when unsaid)."""
    for f in fields(cls):
        if f.name == name:
            return Role(f.metadata.get("role", Role.IDENTITY))
    raise KeyError(name)


class Kind(StrEnum):
    """How the Python environment comes to be (three kinds). Curated is not a kind of
    definition but a property of its hash (see ``spec.curated``)."""

    SYSTEM_MANAGED = "system-managed"
    USER_MANAGED = "user-managed"


@dataclass(frozen=True, slots=True, kw_only=True)
class CondaSection:
    """A conda environment definition, as in conda's ``environment.yml``.

    ``dependencies`` are conda match specs (``python=3.11``, ``numpy``) in
    the written order. ``pip`` holds pip requirement strings in canonical PEP 508
    form, in the written order. ``pip_options`` holds pip option lines
    (``--extra-index-url https://...``, ``--index-url``, ``--find-links``,
    ``--pre``) in the written order; they may shape what is installed.
    """

    #: The environment's name inside conda: the packages are the same.
    name: str | None = _role(Role.METADATA, default=None)
    channels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    pip_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonSection:
    """The Python side of a definition.

    System-managed (the default): ``conda`` declares the packages and the
    product creates the environment. User-managed: nothing is installed; the
    user's ``interpreter_path`` must exist in the image.
    """

    user_managed: bool = False
    #: Where the user's interpreter is; the image is the same wherever it is.
    interpreter_path: str | None = _role(Role.METADATA, default=None)
    conda: CondaSection | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextFile:
    """One file of a Docker build context: its path relative to the context,
    ``644``/``755`` (the executable bit) or ``link``, and the sha256 (hex) of
    its content (of a link: of its target text)."""

    path: str
    mode: str
    digest: str

    def __str__(self) -> str:
        return f"{self.mode} {self.digest} {self.path}"

    @classmethod
    def parse(cls, text: str) -> ContextFile:
        """The inverse of ``str``; raises ``ValueError``."""
        mode, digest, path = text.split(" ", 2)
        return cls(path=path, mode=mode, digest=digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerSection:
    """The image side of a definition.

    Exactly one of ``base_image`` / ``base_dockerfile`` (text) may be set; when
    neither is, the provider's default base image applies. ``steps`` are custom
    Dockerfile instructions, in order. ``resolved_base_digest`` is not written by
    users: the provider fills it when it resolves a tag to a digest (a base tag is resolved to a
    digest).
    ``build_context`` is the folder a base Dockerfile (or a step) copies from;
    ``context_files`` its fingerprint, filled by
    ``spec.build_context.fingerprint_build_context`` (None: not read yet).
    """

    base_image: str | None = None
    base_dockerfile: str | None = None
    steps: tuple[str, ...] = ()
    #: How containers are started from the image, not what is in it.
    shm_size: str | None = _role(Role.METADATA, default=None)
    arguments: tuple[str, ...] = _role(Role.METADATA, default=())
    platform: str | None = None
    resolved_base_digest: str | None = _role(Role.PROVIDED, default=None)
    #: Where the build context was read (an absolute path on this machine):
    #: its files count by content, in ``context_files``, not by place.
    build_context: str | None = _role(Role.METADATA, default=None)
    context_files: tuple[ContextFile, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkPackage:
    """A Maven coordinate."""

    group: str
    artifact: str
    version: str

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkSection:
    repositories: tuple[str, ...] = ()
    packages: tuple[SparkPackage, ...] = ()
    precache_packages: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentSpec:
    """A whole, validated environment definition.

    Metadata (``name``, ``version``, ``description``, ``tags``) and
    ``environment_variables`` are not part of the hash (reuse by hash).
    """

    name: str = _role(Role.METADATA)
    version: str | None = _role(Role.METADATA, default=None)
    description: str | None = _role(Role.METADATA, default=None)
    tags: tuple[tuple[str, str], ...] = _role(Role.METADATA, default=())
    python: PythonSection = field(default_factory=PythonSection)
    docker: DockerSection = field(default_factory=DockerSection)
    spark: SparkSection = field(default_factory=SparkSection)
    #: Set in the running container or process, never baked into the image.
    environment_variables: tuple[tuple[str, str], ...] = _role(Role.METADATA, default=())

    @property
    def kind(self) -> Kind:
        return Kind.USER_MANAGED if self.python.user_managed else Kind.SYSTEM_MANAGED


#: Top-level fields that only label an environment: a change is an update, no build.
METADATA_FIELDS = tuple(
    f.name for f in fields(EnvironmentSpec) if role_of(EnvironmentSpec, f.name) is Role.METADATA
)
#: Top-level sections that shape the image: a change moves the hash.
IDENTITY_FIELDS = tuple(
    f.name for f in fields(EnvironmentSpec) if role_of(EnvironmentSpec, f.name) is Role.IDENTITY
)
