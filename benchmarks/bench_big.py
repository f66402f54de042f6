"""Big environments: a CPU deep-learning stack and a 59-distribution
scientific stack, ours against the conventional ``pip install -r`` build,
side by side on the same BuildKit daemon and base image.

Per stack: cold build+push (aim <= 0.5x of pip), image layers (budget: at
most ``MAX_PACKAGE_LAYERS`` package layers, so base + venv + lock + package
layers stay well under the ~125 layers overlay filesystems allow), and the
bytes uploaded when one small package (``tqdm``) changes (aim: <= 5% of what
the pip build uploads then: its whole environment layer, again).

The deep-learning stack is TensorFlow (CPU): torch and torchvision from
PyPI for linux x86_64 depend on the CUDA wheels (``nvidia-*``, several GB),
and the CPU-only torch index is not reachable here; ``tensorflow-cpu`` is
the largest CPU-only deep-learning stack PyPI serves for this platform.

    python benchmarks/bench_big.py [--runs 1] [--stacks dl,sci] [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from pathlib import Path

from _bench import (
    Row,
    bench_settings,
    conventional,
    ours,
    print_table,
    run_namespace,
    say,
)
from pulumi_mlenv.imaging.layers import MAX_PACKAGE_LAYERS

#: Overlay filesystems allow about 125 layers; our documented budget.
LAYER_BUDGET = MAX_PACKAGE_LAYERS + 12
STACKS: dict[str, tuple[str, ...]] = {
    "dl": ("tensorflow-cpu==2.18.0", "tqdm==4.66.5"),
    "sci": (
        "numpy==2.1.3",
        "scipy==1.14.1",
        "pandas==2.2.3",
        "scikit-learn==1.5.2",
        "matplotlib==3.9.2",
        "seaborn==0.13.2",
        "statsmodels==0.14.4",
        "sympy==1.13.3",
        "networkx==3.4.2",
        "pyarrow==18.0.0",
        "polars==1.12.0",
        "xarray==2024.10.0",
        "h5py==3.12.1",
        "numba==0.61.0",
        "openpyxl==3.1.5",
        "requests==2.32.3",
        "pydantic==2.9.2",
        "jinja2==3.1.4",
        "pyyaml==6.0.2",
        "tqdm==4.66.5",
        "click==8.1.7",
        "rich==13.9.4",
        "sqlalchemy==2.0.36",
        "beautifulsoup4==4.12.3",
        "lxml==5.3.0",
        "pillow==11.0.0",
        "scikit-image==0.24.0",
    ),
    # A smoke stack for --quick.
    "small": ("requests==2.32.3", "tqdm==4.66.5"),
}
NAMES = {"dl": "TensorFlow CPU", "sci": "scientific (59 dists)", "small": "small"}


def _changed(pins: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("tqdm==4.66.4" if p.startswith("tqdm==") else p for p in pins)


_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def layers(ref: str) -> list[tuple[str, int]]:
    """(digest, compressed size) of each layer of a single-platform image."""
    host, rest = ref.split("/", 1)
    if "@" in rest:
        repository, reference = rest.split("@", 1)
    else:
        repository, _, reference = rest.rpartition(":")
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{reference}", headers={"Accept": _ACCEPT}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        doc = json.load(response)
    return [(layer["digest"], int(layer["size"])) for layer in doc["layers"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--stacks", default="dl,sci")
    parser.add_argument("--quick", action="store_true", help="a two-package stack, one run")
    args = parser.parse_args()
    stacks = ["small"] if args.quick else args.stacks.split(",")
    runs = 1 if args.quick else args.runs
    ns = run_namespace()
    settings = bench_settings(ns)
    base_layers = {d for d, _ in layers(settings.base_image)}
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlenv-big-") as tmp:
        for stack in stacks:
            pins = STACKS[stack]
            fig: dict[str, list[float]] = {}
            for i in range(runs):
                say(f"{NAMES[stack]}, run {i + 1}/{runs}: pip baseline, cold ...")
                ref = f"{settings.registry}/pip-{stack}:{i}"
                fig.setdefault("pip", []).append(
                    conventional(settings, Path(tmp) / f"pip-{stack}-{i}", pins, ref)
                )
                pip_layers = layers(ref)
                say(f"{NAMES[stack]}, run {i + 1}/{runs}: ours, cold ...")
                cold = ours(settings, pins, cold=True)
                fig.setdefault("ours", []).append(cold.seconds)
                ours_layers = layers(f"{cold.image.rsplit(':', 1)[0]}@{cold.digest}")
                say(f"{NAMES[stack]}, run {i + 1}/{runs}: ours, one small package changed ...")
                run = run_namespace("run")
                first = ours(settings, pins, cold=False, cache_id=run, run=run)
                second = ours(settings, _changed(pins), cold=False, cache_id=run, run=run)
                old = {d for d, _ in layers(f"{first.image.rsplit(':', 1)[0]}@{first.digest}")}
                new = layers(f"{second.image.rsplit(':', 1)[0]}@{second.digest}")
                uploaded = sum(size for d, size in new if d not in old)
                own = sum(size for d, size in new if d not in base_layers)
                pip_own = sum(size for d, size in pip_layers if d not in base_layers)
                fig.setdefault("uploaded", []).append(uploaded / 1e6)
                fig.setdefault("own", []).append(own / 1e6)
                fig.setdefault("pip own", []).append(pip_own / 1e6)
                fig.setdefault("rebuild", []).append(second.seconds)
                package_layers = len(ours_layers) - len(base_layers)
                fig.setdefault("layers", []).append(float(package_layers))
            name = NAMES[stack]
            rows += [
                Row(f"{name}: cold build+push vs pip", fig["ours"], fig["pip"], 0.5),
                Row(
                    f"{name}: MB uploaded, tqdm moved, vs pip's",
                    fig["uploaded"],
                    fig["pip own"],
                    0.05,
                    unit="M",
                ),
                Row(
                    f"{name}: layers above the base vs budget",
                    fig["layers"],
                    [float(LAYER_BUDGET)] * runs,
                    1.0,
                    unit=" ",
                ),
            ]
            notes.append(
                f"{name}: one-pin rebuild+push {fig['rebuild'][-1]:.1f}s; our layers above the"
                f" base {int(fig['layers'][-1])} (budget {LAYER_BUDGET}: {MAX_PACKAGE_LAYERS}"
                f" package layers + venv + lock + headroom); our environment's own bytes"
                f" {fig['own'][-1]:.0f} MB, pip's {fig['pip own'][-1]:.0f} MB (what pip uploads"
                " again after any change: its environment is one layer)"
            )
    print_table("Big environments, ours vs a conventional pip install -r build", rows)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
