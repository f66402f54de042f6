"""What a replace will cost, in words: layers to build and to reuse, bytes
to push, and the time it should take. Pure: the service gathers the facts
(the layer plan, this workspace's past builds, the registry's answers) and
this module adds them up and says them.

The words end the replace reason in a preview::

    replace: pip: numpy==2.1.3 -> numpy==2.2.0 (2 of 9 layers to build, ~31 MB to push, ~12 s)

- ``~`` before the count: the plan is a prediction (a requirement is not
  pinned, or was removed: the resolver decides what moves);
- ``~`` before the bytes: some layer's digest cannot be known before the
  build, so its size is the last one built in the same place (no ``~``:
  every layer to push is one built before, its size exact);
- the time is always an estimate: past build seconds of the same layers
  (or the same place), plus the build's fixed part (resolving, exporting,
  pushing) as the last build here took it;
- nothing known (no build recorded here): ``(9 layers to build, first build here)``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BuildCost", "LayerEstimate", "describe", "format_bytes", "format_seconds"]


@dataclass(frozen=True, slots=True)
class LayerEstimate:
    """One layer of the image the replace makes.

    ``build``: its content is in no registry answer (to build and push);
    ``push_bytes``: compressed bytes to push (0: the registry has it; None:
    not known); ``exact``: ``push_bytes`` is this very layer's (its digest
    was built before) rather than an estimate from its slot; ``seconds``:
    the estimated build time (None: nothing like it was built here)."""

    slot: str
    build: bool
    push_bytes: int | None
    exact: bool
    seconds: float | None


@dataclass(frozen=True, slots=True)
class BuildCost:
    """The layers of the new image (base layers included), the fixed part
    of a build (None: unknown), whether this workspace has any build
    history, and whether the plan is a prediction."""

    layers: tuple[LayerEstimate, ...]
    overhead: float | None = None
    history: bool = True
    uncertain: bool = False

    @property
    def to_build(self) -> int:
        return sum(1 for layer in self.layers if layer.build)

    @property
    def push_bytes(self) -> tuple[int, bool, int]:
        """``(bytes known, all exact, layers whose size is unknown)``."""
        pushed = [layer for layer in self.layers if layer.push_bytes != 0]
        known = sum(layer.push_bytes or 0 for layer in pushed)
        unknown = sum(1 for layer in pushed if layer.push_bytes is None)
        exact = all(layer.exact for layer in pushed) and not unknown
        return known, exact, unknown

    @property
    def seconds(self) -> tuple[float | None, int]:
        """``(estimated seconds, layers to build never timed here)``; None
        when nothing is known about the time."""
        building = [layer for layer in self.layers if layer.build]
        timed = [layer.seconds for layer in building if layer.seconds is not None]
        untimed = len(building) - len(timed)
        if not building:
            return (self.overhead, 0) if self.overhead is not None else (None, 0)
        if not timed and self.overhead is None:
            return None, untimed
        return (self.overhead or 0.0) + sum(timed), untimed


def format_bytes(size: int) -> str:
    """``31 MB``, ``2.4 MB``, ``420 kB``, ``1.2 GB`` (decimal units)."""
    if size >= 1_000_000_000:
        return f"{size / 1e9:.1f} GB"
    if size >= 10_000_000:
        return f"{size / 1e6:.0f} MB"
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    if size >= 1_000:
        return f"{size / 1e3:.0f} kB"
    return f"{size} B"


def format_seconds(seconds: float) -> str:
    """``12 s``, ``1.4 s``, ``3 min 5 s``."""
    if seconds >= 120:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    if seconds >= 10:
        return f"{round(seconds)} s"
    return f"{seconds:.1f} s"


def describe(cost: BuildCost) -> str:
    """The cost in words, in parentheses (see the module docstring)."""
    total, building = len(cost.layers), cost.to_build
    approx = "~" if cost.uncertain else ""
    count = (
        f"{approx}{building} {'layer' if building == 1 else 'layers'} to build"
        if building == total
        else f"{approx}{building} of {total} layers to build"
    )
    if not cost.history:
        return f"({count}, first build here)"
    parts = [count]
    known, exact, unknown = cost.push_bytes
    if known == 0 and unknown == 0:
        parts.append("nothing to push")
    elif known == 0:
        parts.append("push size unknown")
    else:
        more = " or more" if unknown else ""
        parts.append(f"{'' if exact else '~'}{format_bytes(known)}{more} to push")
    seconds, untimed = cost.seconds
    if seconds is None:
        parts.append("time unknown")
    else:
        parts.append(f"~{format_seconds(seconds)}{' or more' if untimed else ''}")
    return "(" + ", ".join(parts) + ")"
