"""What a change to an environment means for its image: the diff policy.

Pure: a function of the old and new definitions (and their hashes), so the
Pulumi provider's ``diff`` and the CLI's ``explain`` say the same thing.

Policy, in order:
1. ``rebuild_trigger`` changed -> **replace**, forced rebuild.
2. The hash changed -> **replace**: a new image is needed. ``replaces`` names
   the input properties whose change moved the hash; when none did (a base
   tag moved, or the provider's default base image changed), it names
   ``hash``. The reasons come from ``definition.explain``.
3. Only metadata changed (description, tags, environment variables, the
   version label, the environment's name) -> **update** in place, no build.
4. Otherwise -> **same**.
Never decided from the serialized provider (pulumi/pulumi#12401): an SDK
upgrade must not touch any environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pulumi_mlenv.definition import IDENTITY_FIELDS, METADATA_FIELDS

__all__ = ["HASH_INPUTS", "INPUT_NAMES", "METADATA_INPUTS", "Action", "Decision", "decide"]

#: Definition fields whose resource input has another name (the resource's
#: ``version`` is the registered one, an output).
INPUT_NAMES = {"version": "requested_version"}
#: Input properties that can move the hash: the sections that shape the image
#: (their roles are declared on the model) and the inputs that select a file
#: or catalog entry holding them.
HASH_INPUTS = (*IDENTITY_FIELDS, "source", "curated")
#: Input properties that only label the environment (metadata on the model).
METADATA_INPUTS = tuple(INPUT_NAMES.get(f, f) for f in METADATA_FIELDS)


class Action(StrEnum):
    SAME = "same"
    UPDATE = "update"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    replaces: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    forced: bool = False


def _changed(
    keys: tuple[str, ...], old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[str, ...]:
    return tuple(k for k in keys if old.get(k) != new.get(k))


def decide(
    old_inputs: Mapping[str, Any],
    new_inputs: Mapping[str, Any],
    *,
    old_hash: str,
    new_hash: str,
    explain: Callable[[], Sequence[str]],
) -> Decision:
    """The policy above. ``*_inputs`` are the resource's input properties
    (for the names in ``replaces``); ``explain`` gives the differences of the
    two definitions in words, and is called only when the hash moved (a
    no-change preview parses no definition)."""
    metadata = _changed(METADATA_INPUTS, old_inputs, new_inputs)
    if old_inputs.get("rebuild_trigger") != new_inputs.get("rebuild_trigger"):
        return Decision(
            Action.REPLACE,
            replaces=("rebuild_trigger",),
            changed=("rebuild_trigger", *metadata),
            reasons=("rebuild_trigger changed: forced rebuild of the cached image",),
            forced=True,
        )
    if old_hash != new_hash:
        inputs = _changed(HASH_INPUTS, old_inputs, new_inputs)
        reasons = tuple(explain()) or ("definition changed",)
        return Decision(
            Action.REPLACE,
            replaces=inputs or ("hash",),
            changed=(*inputs, *metadata) or ("hash",),
            reasons=reasons,
        )
    if metadata:
        reasons = tuple(f"{k} changed (metadata only: no build)" for k in metadata)
        return Decision(Action.UPDATE, changed=metadata, reasons=reasons)
    return Decision(Action.SAME)
