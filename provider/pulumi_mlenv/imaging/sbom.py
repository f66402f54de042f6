"""The SBOM of an environment image: a CycloneDX JSON document made with
the CycloneDX Python library from what the build knows.

- every distribution of the lock (``name==version``, ``pkg:pypi`` package
  URLs; conda packages as ``pkg:conda``), with the hashes the definition
  gave (``--hash=sha256:...`` options) where it gave any;
- the Debian packages of the image (``/var/lib/dpkg/status``, read from its
  layers by the caller);
- the image itself as the metadata component (by digest), with the
  definition hash, the image hash, the environment version and the recipe
  as properties.

Pure: the caller reads the registry; this turns facts into a document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pulumi_mlenv.imaging.dpkg import DebPackage
from pulumi_mlenv.imaging.lock import lock_entry

if TYPE_CHECKING:  # the library is imported when a BOM is made, not before
    from cyclonedx.model.component import Component

__all__ = ["SBOM_MEDIA_TYPE", "SbomFacts", "make_sbom", "sbom_rows"]

#: The media type of a CycloneDX JSON document (IANA registered).
SBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json"
_PROPERTY = "pulumi-mlenv"


@dataclass(frozen=True, slots=True, kw_only=True)
class SbomFacts:
    """What an SBOM says about one image."""

    image: str  # registry/repository, no tag
    digest: str
    env_hash: str
    definition_hash: str | None
    environment: str | None  # name:version
    recipe: str
    base_image: str | None
    lock: tuple[str, ...]
    conda_packages: frozenset[str] = frozenset()
    debian: tuple[DebPackage, ...] = ()
    #: canonical name -> sha256 hex digests the definition required.
    hashes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    created: datetime | None = None


def make_sbom(facts: SbomFacts) -> bytes:
    """The CycloneDX 1.6 JSON document for ``facts`` (UTF-8 bytes). Its serial
    number is derived from the image digest: one image, one BOM identity."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    image = _image_component(facts)
    components = [*_python_components(facts), *_debian_components(facts.debian)]
    # All at once: the library keeps sorted sets, and one insert per
    # component costs a comparison chain each (seconds for a few hundred).
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"{facts.image}@{facts.digest}"),
        components=components,
    )
    bom.metadata.timestamp = facts.created or datetime.now(UTC)
    bom.metadata.component = image
    bom.register_dependency(image, components)
    outputter = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6)
    return outputter.output_as_string(indent=2).encode()


def _image_component(facts: SbomFacts) -> Component:
    """The image itself: by digest, with our hashes as properties."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    algorithm, _, hexdigest = facts.digest.partition(":")
    image = Component(
        name=facts.image,
        version=facts.digest,
        type=ComponentType.CONTAINER,
        bom_ref=f"{facts.image}@{facts.digest}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=hexdigest)]
        if algorithm == "sha256"
        else [],
        purl=PackageURL(
            "oci",
            name=facts.image.rsplit("/", 1)[-1],
            version=facts.digest,
            qualifiers={"repository_url": facts.image},
        ),
    )
    properties = {
        "image-hash": facts.env_hash,
        "definition-hash": facts.definition_hash,
        "environment": facts.environment,
        "recipe": facts.recipe,
        "base-image": facts.base_image,
    }
    for key, value in properties.items():
        if value:
            image.properties.add(Property(name=f"{_PROPERTY}:{key}", value=value))
    return image


def _python_components(facts: SbomFacts) -> list[Component]:
    """One library a lock line (conda or PyPI), with the hashes required of it."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    components = []
    for name, version in _distributions(facts.lock):
        kind = "conda" if name in facts.conda_packages else "pypi"
        hashes = [
            HashType(alg=HashAlgorithm.SHA_256, content=h) for h in facts.hashes.get(name, ())
        ]
        components.append(
            Component(
                name=name,
                version=version,
                type=ComponentType.LIBRARY,
                bom_ref=f"pkg:{kind}/{name}@{version}",
                purl=PackageURL(kind, name=name, version=version),
                hashes=hashes,
            )
        )
    return components


def _debian_components(debian: Iterable[DebPackage]) -> list[Component]:
    """One library a Debian package dpkg's database lists."""
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    components = []
    for package in debian:
        component = Component(
            name=package.name,
            version=package.version,
            type=ComponentType.LIBRARY,
            bom_ref=package.purl,
            purl=PackageURL(
                "deb",
                namespace="debian",
                name=package.name,
                version=package.version,
                qualifiers={"arch": package.architecture},
            ),
        )
        if package.source:
            component.properties.add(Property(name="deb:source", value=package.source))
        components.append(component)
    return components


def _distributions(lock: Iterable[str]) -> list[tuple[str, str]]:
    """``(name, version)`` of each lock line; a direct reference (``name @
    url``) has its URL without credentials as its version."""
    found: list[tuple[str, str]] = []
    for line in lock:
        entry = lock_entry(line)
        if entry is None:
            continue
        found.append((entry.name, entry.version or (entry.url or "").split("://")[-1]))
    return found


def sbom_rows(document: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """``(kind, name, version)`` rows of a CycloneDX document's components,
    for a table: ``pypi``, ``conda``, ``deb``, ... from each package URL."""
    rows: list[tuple[str, str, str]] = []
    components = document.get("components")
    for item in components if isinstance(components, list) else []:
        if not isinstance(item, dict):
            continue
        purl = str(item.get("purl", ""))
        kind = purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else "-"
        rows.append((kind, str(item.get("name", "")), str(item.get("version", ""))))
    return sorted(rows)
