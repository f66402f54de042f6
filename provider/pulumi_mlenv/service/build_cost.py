"""What a replace will cost, found without building, and the layer records
that let it know.

- ``record_layers``: after a build, each layer's key, slot, digest, size
  and build seconds go to the workspace (the pushed manifest's last layers
  are the plan's, in order).
- ``replace_cost``: for a replace in a preview, the new image's layer plan
  (``imaging.layer_plan``, over the lock the new definition should give:
  ``policy.lock_preview.predict_pins``, worked out by the caller) against
  the old image's manifest and this workspace's layer records; the
  registry is asked which known blobs it already has.
  ``imaging.build_cost`` adds it up and says it.

Called only for a replace: a no-change preview opens no workspace and asks
no registry anything here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import ImageRegistry, Outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment

if TYPE_CHECKING:
    from pulumi_mlenv.imaging.build_cost import LayerEstimate
    from pulumi_mlenv.imaging.builder import BuiltImage
    from pulumi_mlenv.imaging.layer_plan import PlannedLayer
    from pulumi_mlenv.service.outside import EnvironmentStore
    from pulumi_mlenv.workspace.records import LayerHistory

__all__ = ["record_layers", "replace_cost"]

#: Repository of environment images (``service.images.ENV_REPOSITORY``).
_REPOSITORY = "mlenv/env"


def _descriptors(client: ImageRegistry, repository: str, digest: str) -> list[dict[str, Any]]:
    found = client.manifest(repository, digest)
    layers = found[1].get("layers") if found else None
    return [d for d in layers or [] if isinstance(d, dict)]


def record_layers(
    store: EnvironmentStore,
    client: ImageRegistry,
    repository: str,
    env_hash: str,
    built: BuiltImage,
) -> None:
    """Record the layers ``built`` made, with the digests and sizes its
    pushed manifest lists (aligned from the end: the base's come first).
    The records are an aid: a registry that cannot list the manifest now
    fails nothing (the layers are recorded without digests)."""
    from pulumi_mlenv.workspace.records import LayerRecord

    if not built.layers:
        return
    try:
        descriptors = _descriptors(client, repository, built.digest)[-len(built.layers) :]
    except MlenvError:
        descriptors = []
    padded: list[dict[str, Any] | None] = [None] * (len(built.layers) - len(descriptors))
    records = []
    for layer, desc in zip(built.layers, [*padded, *descriptors], strict=True):
        size = desc.get("size") if desc else None
        records.append(
            LayerRecord(
                slot=layer.slot,
                key=layer.key,
                digest=str(desc["digest"]) if desc and desc.get("digest") else None,
                size=int(size) if isinstance(size, int) else None,
                seconds=layer.seconds,
            )
        )
    store.record_layers(env_hash, built.digest, records)


def _plan(resolved: ResolvedEnvironment, pins: tuple[str, ...] | None, installer: str) -> Any:
    from pulumi_mlenv.imaging.layer_plan import plan_layers

    return plan_layers(
        resolved.spec,
        base_ref=resolved.base_ref or "",
        env_hash=resolved.hash,
        pins=pins,
        installer=installer,
    )


def _estimate(
    layer: PlannedLayer,
    known: dict[str, dict[str, Any]],
    present: set[str],
    history: LayerHistory,
    has_blob: Any,
) -> LayerEstimate:
    """One layer: reused when its digest is known and the registry has it;
    else to build, its size exact (built before) or from its slot."""
    from pulumi_mlenv.imaging.build_cost import LayerEstimate

    desc = known.get(layer.key)
    record = history.by_key.get(layer.key)
    digest = str(desc["digest"]) if desc else (record.digest if record else None)
    size = desc.get("size") if desc else (record.size if record else None)
    if digest and (digest in present or has_blob(digest)):
        return LayerEstimate(layer.slot, build=False, push_bytes=0, exact=True, seconds=None)
    seconds = history.key_seconds.get(layer.key, history.slot_seconds.get(layer.slot))
    like = history.by_slot.get(layer.slot)
    if digest and isinstance(size, int):
        return LayerEstimate(layer.slot, build=True, push_bytes=size, exact=True, seconds=seconds)
    return LayerEstimate(
        layer.slot,
        build=True,
        push_bytes=like.size if like is not None else None,
        exact=False,
        seconds=seconds,
    )


class _Answer(NamedTuple):
    """What the registry told of a replace: each new layer's estimate, how
    many of the old image's layers are its base's, whether the old image is
    still there, and whether any old layer was known by its key."""

    estimates: list[LayerEstimate]
    base_layers: int
    old_found: bool
    known: bool


def _ask_registry(
    client: ImageRegistry,
    old_image: str | None,
    old_plan: Sequence[PlannedLayer],
    new_plan: Sequence[PlannedLayer],
    history: LayerHistory,
) -> _Answer:
    """Each new layer's estimate from what the registry holds: the old
    image's layers (by their place in the old plan) and blobs it already
    has (see ``_Answer``)."""
    repository = client.repository_for(_REPOSITORY)
    digest = (old_image or "").rpartition("@")[2]
    descriptors = _descriptors(client, repository, digest) if digest else []
    base_count = max(0, len(descriptors) - len(old_plan))
    known = {
        layer.key: desc for layer, desc in zip(old_plan, descriptors[base_count:], strict=False)
    }
    present = {str(d.get("digest")) for d in descriptors}

    def has_blob(blob: str) -> bool:
        return bool(client.has_blob(repository, blob))

    estimates = [_estimate(x, known, present, history, has_blob) for x in new_plan]
    return _Answer(estimates, base_count, old_found=bool(descriptors), known=bool(known))


def replace_cost(
    old: ResolvedEnvironment,
    old_lock: Sequence[str],
    old_image: str | None,
    new: ResolvedEnvironment,
    *,
    pins: tuple[str, ...] | None,
    uncertain: bool,
    settings: Settings,
    workspace_url: str,
    outside: Outside | None = None,
) -> str:
    """The cost of replacing ``old`` (its image by digest, its lock) by
    ``new``, whose lock should be ``pins`` (``uncertain``: a prediction the
    resolver may change; ``policy.lock_preview.predict_pins``), in words
    (``imaging.build_cost.describe``); empty when it cannot be told (a
    registry or workspace that does not answer: a preview goes on)."""
    from pulumi_mlenv.imaging.build_cost import BuildCost, LayerEstimate, describe
    from pulumi_mlenv.imaging.layers import pinned_lock

    io = outside_or_real(outside)
    installer = settings.installer
    old_pins = pinned_lock("\n".join(old_lock)) if old_lock else None
    old_plan = _plan(old, old_pins, installer)
    new_plan = _plan(new, pins, installer)
    try:
        with io.workspace(workspace_url) as store:
            history = store.layer_history(
                {layer.key for layer in new_plan}, {layer.slot for layer in new_plan}
            )
        with io.registry(settings.registry, settings) as client:
            answer = _ask_registry(client, old_image, old_plan, new_plan, history)
    except MlenvError:
        return ""
    # The base image's layers: the old image's when the base did not move.
    same_base = (old.base_ref or "") == (new.base_ref or "") and answer.old_found
    base = [
        LayerEstimate(
            "base", build=False, push_bytes=0 if same_base else None, exact=True, seconds=None
        )
        for _ in range(answer.base_layers)
    ]
    cost = BuildCost(
        layers=(*base, *answer.estimates),
        overhead=history.overhead,
        history=bool(history.builds or answer.known),
        uncertain=uncertain,
    )
    return describe(cost)
