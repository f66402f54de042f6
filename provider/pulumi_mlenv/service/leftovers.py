"""What an interrupted deployment create leaves, and its removal.

A create killed half way (``pulumi up`` or its provider killed, a CI job
cancelled) leaves a ``starting`` record, and possibly a container, that no
Pulumi state knows. The next create of the same deployment name in the
same workspace removes them: a ``starting`` record whose creating process
is gone (same host, that pid no longer running the same process), and any
container labelled with the name and workspace that no record claims. A
``starting`` record whose creator still runs is another create in progress
and is left alone, as is anything recorded from another host.

Pure decisions (``interrupted``, ``unclaimed``) apart from the sweep,
which reaches the engine through the service's ``ServiceEngine`` port.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pulumi_mlenv.workspace.serving_store import DeploymentRecord

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import ServiceEngine, ServingStore

__all__ = [
    "INSTANCE_LABEL",
    "NAME_LABEL",
    "WORKSPACE_LABEL",
    "interrupted",
    "labels_for",
    "owner",
    "sweep",
    "unclaimed",
    "workspace_tag",
]

NAME_LABEL = "org.pulumi-mlenv.deployment-name"
WORKSPACE_LABEL = "org.pulumi-mlenv.workspace"
INSTANCE_LABEL = "org.pulumi-mlenv.instance"


def workspace_tag(workspace_url: str) -> str:
    """A short tag of the workspace (the URL itself may hold a password)."""
    return hashlib.sha256(workspace_url.encode()).hexdigest()[:12]


def labels_for(name: str, instance: str, workspace_url: str) -> dict[str, str]:
    return {
        NAME_LABEL: name,
        INSTANCE_LABEL: instance,
        WORKSPACE_LABEL: workspace_tag(workspace_url),
    }


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (tells a reused pid apart)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner() -> dict[str, object]:
    """Who is creating: recorded in a ``starting`` record's details."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_time(os.getpid())}


def _owner_gone(details: Mapping[str, object]) -> bool:
    who = details.get("owner")
    if not isinstance(who, Mapping):
        return True  # recorded before owners were: no create can still hold it
    if who.get("host") != socket.gethostname():
        return False  # cannot tell from here
    pid = who.get("pid")
    if not isinstance(pid, int):
        return True
    return _start_time(pid) != who.get("started")


def interrupted(records: Iterable[DeploymentRecord]) -> list[DeploymentRecord]:
    """The ``starting`` records whose create was interrupted."""
    return [r for r in records if r.status == "starting" and _owner_gone(r.details)]


def unclaimed(
    containers: Iterable[tuple[str, Mapping[str, str]]], records: Iterable[DeploymentRecord]
) -> list[str]:
    """Ids of containers whose instance no record claims."""
    known = {r.instance for r in records}
    return [cid for cid, labels in containers if labels.get(INSTANCE_LABEL) not in known]


def sweep(
    name: str, *, store: ServingStore, engine: ServiceEngine, workspace_url: str
) -> list[str]:
    """Remove what interrupted creates of ``name`` left; what was removed, in words."""
    said: list[str] = []
    for record in interrupted(store.list_deployments(name)):
        ids = {c for c, _ in engine.services({INSTANCE_LABEL: record.instance})}
        ids |= {record.container_id} if record.container_id else set()
        for cid in sorted(ids):
            if engine.remove_service(cid, grace=0):
                said.append(f"removed container {cid[:12]} of the interrupted create")
        store.delete_deployment(record.instance)
        said.append(f"forgot the record of the interrupted create {record.instance}")
    labels = {NAME_LABEL: name, WORKSPACE_LABEL: workspace_tag(workspace_url)}
    for cid in unclaimed(engine.services(labels), store.list_deployments(name)):
        if engine.remove_service(cid, grace=0):
            said.append(f"removed container {cid[:12]}, left by an interrupted create")
    return said
