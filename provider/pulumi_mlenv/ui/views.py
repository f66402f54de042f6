"""What each page shows, as plain values: pure functions from the service's
records to rows and fields. Templates only lay them out (and escape them).

Nothing secret reaches a view: a variable's value never does (the workspace
keeps names only, and a value an older workspace kept is hidden too), and
credentials written in URLs (a compute target, an image, a workspace) are
masked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import yaml

from pulumi_mlenv.errors import redact_credentials
from pulumi_mlenv.service.browse import (
    WITHHELD,
    DeploymentRecord,
    EndpointRecord,
    ModelRecord,
    RunRecord,
    Snapshot,
    VersionDifference,
    VersionRecord,
    is_secret_name,
    referenced,
)

__all__ = [
    "FROM_ENVIRONMENT",
    "HIDDEN",
    "NOT_STORED",
    "EnvironmentRow",
    "Traffic",
    "Variable",
    "changes_of",
    "definition_text",
    "deployments_of_model",
    "duration",
    "environment_rows",
    "human_size",
    "masked_variables",
    "models_of_run",
    "packages_of",
    "runs_of_version",
    "short",
    "short_ref",
    "traffic_of",
    "version_key",
    "versions_of",
    "when",
]

#: What a page shows for a variable's value.
HIDDEN = "hidden"
NOT_STORED = "not stored in the workspace"
#: A secret variable: the workspace keeps where a run reads it from.
FROM_ENVIRONMENT = "secret: read from $NAME when a run starts"


def short(digest: str | None, length: int = 12) -> str:
    """``sha256:9c2e01...`` -> ``9c2e01ab34cd`` (empty for none)."""
    if not digest:
        return ""
    return digest.rpartition(":")[2][:length] if digest.startswith("sha256:") else digest[:length]


def short_ref(image: str | None) -> str:
    """``host/repo@sha256:<64 hex>`` -> ``host/repo@sha256:<12 hex>`` (the
    whole reference stays in the page's title)."""
    if not image or "@sha256:" not in image:
        return image or ""
    name, _, digest = image.partition("@")
    return f"{name}@sha256:{short(digest)}"


def when(stamp: str | None) -> str:
    """``2026-01-02T10:12:33.123+00:00`` -> ``2026-01-02 10:12:33 UTC``."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


def duration(start: str | None, end: str | None) -> str:
    """``1 min 3 s`` between two stored times (empty when either is missing)."""
    if not start or not end:
        return ""
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def human_size(size: int) -> str:
    """Bytes in the unit a person reads (``1.5 MB``)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def version_key(version: str) -> tuple[int, int, str]:
    """Numbers in order, labels after them."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable as shown: its name, and why its value is not."""

    name: str
    value: str


def masked_variables(pairs: tuple[tuple[str, str], ...]) -> list[Variable]:
    """What a page may show of each variable: a plain value (credentials in
    URLs masked); for a secret one only where a run reads it from; ``hidden``
    for a value kept under a credential's name (an older workspace kept
    them); ``not stored`` where an older workspace kept names only."""
    out = []
    for name, value in pairs:
        if value == WITHHELD:
            shown = NOT_STORED
        elif source := referenced(value):
            shown = FROM_ENVIRONMENT.replace("NAME", source)
        elif is_secret_name(name):
            shown = HIDDEN
        else:
            shown = redact_credentials(value)
        out.append(Variable(name, shown))
    return out


def packages_of(definition: dict[str, Any]) -> list[str]:
    """The packages a definition asks for, as written: conda ones, then pip
    ones (``pip: numpy==2.1.3``), then Spark's Maven coordinates."""
    python = definition.get("python") or {}
    conda = python.get("conda") or {}
    out: list[str] = []
    pip: list[str] = []
    for item in conda.get("dependencies") or ():
        if isinstance(item, dict):
            pip += [str(p) for p in item.get("pip") or ()]
        else:
            out.append(f"conda: {item}")
    pip += [str(p) for p in python.get("pip") or ()]
    out += [f"pip: {p}" for p in pip]
    for package in (definition.get("spark") or {}).get("packages") or ():
        if isinstance(package, dict):
            package = ":".join(str(package.get(k, "")) for k in ("group", "artifact", "version"))
        out.append(f"spark: {package}")
    return [redact_credentials(p) for p in out]


def _pruned(value: Any) -> Any:
    """A definition without its empty fields (a page shows what was written)."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {}, ())}
    if isinstance(value, list | tuple):
        return [_pruned(v) for v in value]
    return value


def definition_text(definition: dict[str, Any]) -> str:
    """The stored definition as YAML, credentials masked."""
    text = yaml.safe_dump(_pruned(definition), sort_keys=False, default_flow_style=False)
    return redact_credentials(text)


@dataclass(frozen=True, slots=True)
class EnvironmentRow:
    """One environment on the front page."""

    name: str
    versions: int
    active: int
    latest: str
    latest_hash: str
    runs: int
    registered: str


def versions_of(snapshot: Snapshot, name: str) -> list[VersionRecord]:
    """The versions of ``name``, oldest first (as registered)."""
    return [v for v in snapshot.versions if v.name == name]


def environment_rows(snapshot: Snapshot) -> list[EnvironmentRow]:
    """One row per environment name, by name."""
    by_name: dict[str, list[VersionRecord]] = defaultdict(list)
    for version in snapshot.versions:
        by_name[version.name].append(version)
    runs: dict[str, int] = defaultdict(int)
    for run in snapshot.runs:
        runs[run.env_name] += 1
    rows = []
    for name in sorted(by_name):
        versions = by_name[name]
        latest = versions[-1]
        rows.append(
            EnvironmentRow(
                name=name,
                versions=len(versions),
                active=sum(1 for v in versions if v.status == "active"),
                latest=latest.version,
                latest_hash=short(latest.env_hash),
                runs=runs[name],
                registered=when(latest.created_at),
            )
        )
    return rows


def changes_of(difference: VersionDifference) -> VersionDifference:
    """The service's explanation as a page shows it: credentials masked."""
    return replace(
        difference, definition=tuple(redact_credentials(line) for line in difference.definition)
    )


def runs_of_version(snapshot: Snapshot, version: VersionRecord) -> list[RunRecord]:
    """The runs of this version, newest first."""
    return [
        r for r in snapshot.runs if (r.env_name, r.env_version) == (version.name, version.version)
    ]


def models_of_run(snapshot: Snapshot, run_id: str) -> list[ModelRecord]:
    return [m for m in snapshot.models if m.lineage.run_id == run_id]


def deployments_of_model(snapshot: Snapshot, model: ModelRecord) -> list[DeploymentRecord]:
    return [
        d
        for d in snapshot.deployments
        if (d.model_name, d.model_version) == (model.name, model.version)
    ]


@dataclass(frozen=True, slots=True)
class Traffic:
    """One deployment behind an endpoint: its weight and share of requests.
    ``deployment`` is the recorded deployment at that address, if any."""

    name: str
    address: str
    weight: int
    percent: float
    deployment: DeploymentRecord | None


def traffic_of(
    endpoint: EndpointRecord, deployments: tuple[DeploymentRecord, ...]
) -> list[Traffic]:
    """The endpoint's backends with their shares; each matched to the
    deployment listening at its address (else the latest of that name)."""
    total = sum(w for _, _, w in endpoint.backends)
    out = []
    for name, address, weight in endpoint.backends:
        port = address.rpartition(":")[2]
        at = [d for d in deployments if str(d.port) == port]
        named = [d for d in deployments if d.name == name]
        candidates = at or named
        match = candidates[-1] if candidates else None
        share = 100.0 * weight / total if total else 0.0
        out.append(Traffic(name, address, weight, round(share, 1), match))
    return out
