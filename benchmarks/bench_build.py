"""Our image build against a conventional ``pip install -r`` build, side by side.

Same base image, same pinned reference environment (numpy, pandas,
scikit-learn, requests), same BuildKit daemon, one run. Cold builds ignore the
layer cache (``--no-cache``) and, for ours, use a fresh download-cache id, so
packages are downloaded again. Prints a table of seconds, sizes and ratios:

  (a) our cold build / conventional build          (aim <= 0.30)
  (b) our cold build+push / conventional build+push (aim <= 0.35 in every run)
  (c) our cache hit / our cold build+push           (aim <= 0.005, < 0.3 s)
  (d) one-pin rebuild+push / our cold build+push    (aim <= 0.10)
  (e) our image size / conventional image size      (aim <= 0.95)
  floor: ``uv pip install`` into a fresh host virtualenv, cold cache.

Run: ``source scripts/env.sh && python benchmarks/bench_build.py [--runs 5] [--quick]``
(several runs are interleaved; the table gives the median ratio and its spread)
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from _bench import Row, print_table
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec, parse_definition
from pulumi_mlenv.imaging.builder import DEFAULT_COMPRESSION, build_image
from pulumi_mlenv.registry import RegistryClient, request_count, reset_request_count
from pulumi_mlenv.service import build_plan, ensure_image
from pulumi_mlenv.service.resolved import resolve

PINS = ["numpy==2.1.3", "pandas==2.2.3", "scikit-learn==1.5.2", "requests==2.32.3"]
CHANGED = ["numpy==2.1.3", "pandas==2.2.3", "scikit-learn==1.5.2", "requests==2.32.2"]

CONVENTIONAL = """FROM {base}
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=ca python3 -m venv /venv \\
 && PIP_CERT=/run/secrets/ca /venv/bin/pip install -r /tmp/requirements.txt
ENV PATH=/venv/bin:$PATH
"""


def _spec(pins: list[str], run: str = "") -> EnvironmentSpec:
    data: dict[str, object] = {
        "name": "bench",
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": pins}]}},
    }
    if run:  # a step of its own keys every stage on this run: no earlier run's layers
        data["docker"] = {"steps": [f"ENV MLENV_BENCH_RUN={run}"]}
    return parse_definition(data)


def _conventional(settings: Settings, ref: str, push: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "Dockerfile").write_text(CONVENTIONAL.format(base=settings.base_image))
        (folder / "requirements.txt").write_text("\n".join(PINS) + "\n")
        started = time.monotonic()
        subprocess.run(
            [
                "buildctl", "--addr", settings.buildkit_host, "build",
                "--frontend", "dockerfile.v0", "--no-cache",
                "--local", f"context={folder}", "--local", f"dockerfile={folder}",
                "--secret", f"id=ca,src={settings.ca_bundle}",
                "--output", f"type=image,name={ref},push={'true' if push else 'false'}"
                ",registry.insecure=true",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return time.monotonic() - started


def _ours(
    settings: Settings,
    pins: list[str],
    *,
    push: bool,
    cold: bool,
    compression: str,
    cache_id: str = "",
    run: str = "",
) -> float:
    plan = replace(
        build_plan(resolve(_spec(pins, run), settings), settings, no_cache=cold),
        cache_id=cache_id or f"bench-{uuid.uuid4().hex[:8]}",
        push=push,
        compression=compression,
    )
    started = time.monotonic()
    build_image(plan)
    return time.monotonic() - started


def _floor() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, UV_CACHE_DIR=f"{tmp}/cache")
        started = time.monotonic()
        subprocess.run(["uv", "venv", "-q", f"{tmp}/venv"], check=True, env=env)
        subprocess.run(
            ["uv", "pip", "install", "-q", "--python", f"{tmp}/venv/bin/python", *PINS],
            check=True,
            env=env,
        )
        return time.monotonic() - started


def _size(registry: str, repository: str, reference: str) -> int:
    with RegistryClient(registry) as client:
        info = client.manifest_info(repository, reference)
        assert info is not None
        return info.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compression", default=DEFAULT_COMPRESSION)
    parser.add_argument("--runs", type=int, default=1, help="runs, interleaved (issue 15: 5)")
    parser.add_argument("--quick", action="store_true", help="one run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    settings = replace(Settings.from_env(), registry=f"127.0.0.1:5000/{ns}")
    conv_ref = f"127.0.0.1:5000/{ns}/conventional:latest"
    fig: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        fig.setdefault(key, []).append(value)

    requests_made = 0
    for i in range(runs):
        print(f"run {i + 1}/{runs} ...", file=sys.stderr, flush=True)
        add("conv build", _conventional(settings, conv_ref, push=False))
        add("conv push", _conventional(settings, conv_ref, push=True))
        cold = functools.partial(_ours, settings, PINS, cold=True, compression=args.compression)
        add("ours build", cold(push=False))
        add("ours push", cold(push=True))
        # A first build keyed on this run (so that no earlier run left the changed
        # pin's layer in the layer cache), then the one-pin change.
        run = f"{ns}-{i}"
        warm = functools.partial(
            _ours, settings, push=True, cold=False, compression=args.compression, cache_id=run,
            run=run,
        )  # fmt: skip
        warm(PINS)
        add("rebuild", warm(CHANGED))
        reset_request_count()
        started = time.monotonic()
        hit = ensure_image(resolve(_spec(PINS), settings), settings=settings)
        add("hit", time.monotonic() - started)
        requests_made = request_count()
        assert not hit.built
        add("floor", _floor())
        add("ours size", (hit.size or _size(settings.registry, hit.repository, hit.digest)) / 1e6)
        add("conv size", _size("127.0.0.1:5000", f"{ns}/conventional", "latest") / 1e6)

    print(f"compression={args.compression}; cache hit made {requests_made} registry requests")
    print_table(
        "Our build vs a conventional pip install -r build",
        [
            Row("(a) cold build", fig["ours build"], fig["conv build"], 0.30),
            Row("(b) cold build+push", fig["ours push"], fig["conv push"], 0.35, every=True),
            Row("(c) cache hit vs our cold build+push", fig["hit"], fig["ours push"], 0.005),
            Row("(d) one-pin rebuild+push vs our cold", fig["rebuild"], fig["ours push"], 0.10),
            Row("(e) image size", fig["ours size"], fig["conv size"], 0.95, unit="M"),
            Row("floor: uv pip install on host vs (a)", fig["floor"], fig["ours build"], None),
        ],
    )


if __name__ == "__main__":
    main()
