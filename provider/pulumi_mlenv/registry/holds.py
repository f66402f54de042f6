"""Holds kept in the registry beside the image (pure): how a workspace says
"I still need this digest" where every workspace sharing the registry can
read it, with nothing but the plain OCI distribution API (no referrers API).

A hold is a tag ``hold-<digest 12>-<workspace 12>`` in the image's own
repository, pointing at a tiny manifest of its own (an empty config, no
layers) whose annotations name the held digest, the workspace, the kind of
holder and the time. Each workspace writes and deletes only its own tags
(deleting one deletes that manifest by its own digest, which no other tag
shares: the annotations make it unique). A tombstone ``deleted-<digest 12>``
records a deletion by ``mlenv gc``: when and from which workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = [
    "EMPTY_CONFIG",
    "HOLD_MEDIA_TYPE",
    "HoldNote",
    "hold_manifest",
    "hold_tag",
    "note_of",
    "tombstone_tag",
]

HOLD_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
#: The OCI empty descriptor's content: the hold's config blob.
EMPTY_CONFIG = b"{}"
_EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
}
_PREFIX = "org.pulumi-mlenv.hold."


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def hold_tag(digest: str, workspace_id: str) -> str:
    """The tag workspace ``workspace_id`` holds ``digest`` with."""
    return f"hold-{_short(digest)}-{workspace_id[:12]}"


def tombstone_tag(digest: str) -> str:
    """The tag that records ``digest``'s deletion by gc."""
    return f"deleted-{_short(digest)}"


def hold_manifest(digest: str, workspace_id: str, kind: str, when: str) -> bytes:
    """The manifest a hold (``kind``: run, version, model, ... or ``deleted``
    for a tombstone) tag points at."""
    doc = {
        "schemaVersion": 2,
        "mediaType": HOLD_MEDIA_TYPE,
        "config": _EMPTY,
        "layers": [],
        "annotations": {
            f"{_PREFIX}digest": digest,
            f"{_PREFIX}workspace": workspace_id,
            f"{_PREFIX}kind": kind,
            f"{_PREFIX}created": when,
        },
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class HoldNote:
    """What a hold or tombstone manifest says."""

    digest: str
    workspace: str
    kind: str
    created: str


def note_of(doc: dict[str, object]) -> HoldNote | None:
    """The note in a hold manifest; None when the document is no hold."""
    notes = doc.get("annotations")
    if not isinstance(notes, dict) or f"{_PREFIX}digest" not in notes:
        return None
    return HoldNote(
        digest=str(notes.get(f"{_PREFIX}digest", "")),
        workspace=str(notes.get(f"{_PREFIX}workspace", "")),
        kind=str(notes.get(f"{_PREFIX}kind", "")),
        created=str(notes.get(f"{_PREFIX}created", "")),
    )
