"""What a change to an environment means for its image: the diff policy.

Pure: a function of the old and new definitions (and their hashes), so the
Pulumi provider's ``diff`` and the CLI's ``explain`` say the same thing.

Policy, in order:
1. ``rebuild_trigger`` changed -> **replace**, forced rebuild (R18).
2. The hash changed -> **replace**: a new image is needed. ``replaces`` names
   the input properties whose change moved the hash; when none did (a base
   tag moved, or the provider's default base image changed), it names
   ``hash``. The reasons come from ``spec.explain``.
3. Only metadata changed (description, tags, environment variables, the
   version label, the environment's name) -> **update** in place, no build.
4. Otherwise -> **same**.
Never decided from the serialized provider (pulumi/pulumi#12401): an SDK
upgrade must not touch any environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pulumi_mlenv.spec import EnvironmentSpec, explain

__all__ = ["HASH_INPUTS", "METADATA_INPUTS", "Action", "Decision", "decide"]

#: Input properties that can move the hash.
HASH_INPUTS = ("python", "docker", "spark", "source", "curated")
#: Input properties that only label the environment.
METADATA_INPUTS = ("name", "requested_version", "description", "tags", "environment_variables")


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
    old_spec: EnvironmentSpec,
    new_spec: EnvironmentSpec,
    old_hash: str,
    new_hash: str,
) -> Decision:
    """The policy above. ``*_inputs`` are the resource's input properties
    (for the names in ``replaces``); ``*_spec`` the parsed definitions."""
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
        reasons = tuple(explain(old_spec, new_spec)) or ("definition changed",)
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
