"""Credentials written inside URLs of a definition (private package indexes,
Maven repositories, direct references): kept apart from the definition.

A definition is stored (Pulumi state, the workspace) and shown (previews,
errors) without them; the build gets them back as a secret. They are not
identity: the hash is the same with or without them (docs/hash.md).
"""

from __future__ import annotations

from dataclasses import replace

from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.text import has_url_credentials, redact_url_credentials

__all__ = ["MASK", "has_credentials", "restore_credentials", "split_credentials"]

#: What stands in for ``user:token`` in a stored URL.
MASK = "***"

#: (stored text with the mask, text as written) of every line that had credentials.
Credentials = tuple[tuple[str, str], ...]


def _split(lines: tuple[str, ...], found: list[tuple[str, str]]) -> tuple[str, ...]:
    out = []
    for line in lines:
        if has_url_credentials(line):
            masked = redact_url_credentials(line, MASK)
            found.append((masked, line))
            line = masked
        out.append(line)
    return tuple(out)


def split_credentials(spec: EnvironmentSpec) -> tuple[EnvironmentSpec, Credentials]:
    """The definition with every ``user:token@`` in a URL masked, and the
    pairs needed to put them back. A definition without any is returned as is."""
    found: list[tuple[str, str]] = []
    conda = spec.python.conda
    if conda is not None:
        conda = replace(
            conda,
            pip=_split(conda.pip, found),
            pip_options=_split(conda.pip_options, found),
        )
    repositories = _split(spec.spark.repositories, found)
    if not found:
        return spec, ()
    masked = replace(
        spec,
        python=replace(spec.python, conda=conda),
        spark=replace(spec.spark, repositories=repositories),
    )
    return masked, tuple(found)


def restore_credentials(spec: EnvironmentSpec, credentials: Credentials) -> EnvironmentSpec:
    """The definition as written: masked lines replaced by their originals."""
    if not credentials:
        return spec
    originals = dict(credentials)

    def back(lines: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(originals.get(line, line) for line in lines)

    conda = spec.python.conda
    if conda is not None:
        conda = replace(conda, pip=back(conda.pip), pip_options=back(conda.pip_options))
    return replace(
        spec,
        python=replace(spec.python, conda=conda),
        spark=replace(spec.spark, repositories=back(spec.spark.repositories)),
    )


def has_credentials(spec: EnvironmentSpec) -> bool:
    """Whether any URL of the definition carries ``user:token@``."""
    return bool(split_credentials(spec)[1])
