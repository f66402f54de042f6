"""How a resolved environment is laid into image layers.

Each large distribution of the lock (numpy, torch, ...: ``LARGE``) gets a
layer of its own (a build stage whose files are ``COPY --link``'ed into the
venv path), so that changing its pin rebuilds, exports and pushes that layer
alone, and the same pinned distribution is the same blob in every
environment that has it. The long tail of small distributions shares a few
layers, by a stable hash of the name (about ``SMALL_PER_LAYER`` to a layer):
a change rebuilds one small group, and a cold build runs few stages.
Overlay filesystems allow about 125 layers: at most ``MAX_PACKAGE_LAYERS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pulumi_mlenv.imaging.lock import lock_entry

__all__ = [
    "LARGE",
    "MAX_PACKAGE_LAYERS",
    "SMALL_PER_LAYER",
    "LayerGroup",
    "group_pins",
    "is_large",
    "pinned_lock",
]

#: Package layers at most; with the base's and ours, well under ~125.
MAX_PACKAGE_LAYERS = 48
#: Small distributions per shared layer, about.
SMALL_PER_LAYER = 8
#: Distributions big enough (tens of MB or more installed) for a layer each.
LARGE = frozenset(
    [
        "catboost",
        "cupy-cuda11x",
        "cupy-cuda12x",
        "jax",
        "jaxlib",
        "lightgbm",
        "llvmlite",
        "matplotlib",
        "mxnet",
        "numba",
        "numpy",
        "onnxruntime",
        "onnxruntime-gpu",
        "opencv-python",
        "opencv-python-headless",
        "pandas",
        "polars",
        "pyarrow",
        "pyspark",
        "scikit-image",
        "scikit-learn",
        "scipy",
        "sympy",
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-io-gcs-filesystem",
        "torch",
        "torchaudio",
        "torchvision",
        "transformers",
        "triton",
        "xgboost",
    ]
)


@dataclass(frozen=True, slots=True)
class LayerGroup:
    """One package layer: its stage name suffix and its ``name==version`` pins."""

    name: str
    pins: tuple[str, ...]


def pinned_lock(text: str) -> tuple[str, ...] | None:
    """The ``name==version`` lines of a resolver's output (canonical names,
    sorted), or None when any requirement is not a plain pin (a URL, a path,
    an editable): such environments are installed in one step instead."""
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        entry = lock_entry(line)
        if entry is None or entry.version is None:
            return None
        pins[entry.name] = str(entry)
    return tuple(pins[k] for k in sorted(pins))


def is_large(name: str) -> bool:
    """Whether a (canonical) distribution name gets a layer of its own."""
    return name in LARGE or name.startswith("nvidia-")


def group_pins(pins: tuple[str, ...], limit: int = MAX_PACKAGE_LAYERS) -> tuple[LayerGroup, ...]:
    """Pins laid into at most ``limit`` layers: a layer per large
    distribution (while they fit), then the rest in groups by a stable hash
    of the name, so that a pin change moves exactly one group."""
    names = [pin.split("==", 1)[0] for pin in pins]
    large = [p for p, n in zip(pins, names, strict=True) if is_large(n)][: max(limit - 1, 0)]
    rest = [p for p in pins if p not in large]
    groups = [LayerGroup(p.split("==", 1)[0], (p,)) for p in large]
    if not rest:
        return tuple(groups)
    count = max(1, min(limit - len(groups), -(-len(rest) // SMALL_PER_LAYER)))
    buckets: dict[int, list[str]] = {}
    for pin in rest:
        digest = hashlib.sha256(pin.split("==", 1)[0].encode()).digest()
        buckets.setdefault(int.from_bytes(digest[:4], "big") % count, []).append(pin)
    groups += [
        LayerGroup(f"group-{i:02d}-of-{count:02d}", tuple(buckets[i])) for i in sorted(buckets)
    ]
    return tuple(groups)
