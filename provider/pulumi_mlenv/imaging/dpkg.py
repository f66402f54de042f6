"""The Debian packages of an image: ``/var/lib/dpkg/status`` as dpkg wrote
it, read into ``(name, version, architecture, source)`` entries.

Only packages whose status is ``install ok installed`` count: a removed
package leaves a ``deinstall ok config-files`` stanza behind, and that is
not something the image holds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STATUS_PATH", "DebPackage", "parse_status"]

#: Where dpkg keeps its database of installed packages.
STATUS_PATH = "var/lib/dpkg/status"


@dataclass(frozen=True, slots=True, order=True)
class DebPackage:
    """One installed Debian package. ``source`` is the source package when it
    has another name (``libc6`` comes from ``glibc``), else None."""

    name: str
    version: str
    architecture: str
    source: str | None = None

    @property
    def purl(self) -> str:
        """Its package URL (``pkg:deb/debian/libc6@2.36-9?arch=amd64``)."""
        from urllib.parse import quote

        return f"pkg:deb/debian/{quote(self.name)}@{quote(self.version)}?arch={self.architecture}"


def _stanzas(text: str) -> list[dict[str, str]]:
    """RFC 822-like paragraphs; continuation lines are folded into their field."""
    found: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    last = ""
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if fields:
                found.append(fields)
            fields, last = {}, ""
        elif line[0] in " \t":
            if last:
                fields[last] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            last = key.strip().lower()
            fields[last] = value.strip()
    return found


def parse_status(text: str) -> tuple[DebPackage, ...]:
    """The installed packages of a dpkg status file, sorted by name."""
    packages: dict[tuple[str, str], DebPackage] = {}
    for fields in _stanzas(text):
        if fields.get("status", "").split()[-1:] != ["installed"]:
            continue
        name, version = fields.get("package"), fields.get("version")
        if not name or not version:
            continue
        # "Source: glibc (2.36-9)" names the source package and maybe its version.
        source = fields.get("source", "").split(" ", 1)[0] or None
        arch = fields.get("architecture") or "all"
        packages[(name, arch)] = DebPackage(name, version, arch, source if source != name else None)
    return tuple(sorted(packages.values()))
