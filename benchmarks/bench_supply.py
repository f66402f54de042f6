"""What the SBOM and provenance add to a cold build+push and to a cache hit.

Per run (runs are interleaved: build, attest, hit, attest-on-hit, then the
next run), on the shared local registry under a namespace of the run's own:

  (a) cold build+push + attest / cold build+push       (aim <= 1.05)
      attest = read the image's manifest and config, the dpkg database
      (cache of layers warm: the base was read on this machine before),
      make both documents, push them and the referrers index
  (b) the same with the dpkg cache empty (the first image of a base on a
      machine: its base layer is streamed once)            (no aim, shown)
  (c) cache hit + its referrers lookup / cache hit      (shown; the aim is
      in requests:) extra registry requests on a hit    (aim <= 1)

Run: ``source scripts/env.sh && python benchmarks/bench_supply.py [--runs 3] [--quick]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from _bench import PINS, Row, bench_settings, print_table, run_namespace, say, spec_of
from pulumi_mlenv.config import Settings
from pulumi_mlenv.registry import request_count, reset_request_count
from pulumi_mlenv.service import EnsureResult, ensure_image
from pulumi_mlenv.service.compose import real_outside
from pulumi_mlenv.service.resolved import ResolvedEnvironment, resolve
from pulumi_mlenv.service.supply import attest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run, a small package set")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    pins = ("six==1.16.0", "idna==3.7") if args.quick else PINS
    io = real_outside()
    cold, cold_attest, empty, empty_attest, hit, hit_attest = [], [], [], [], [], []
    extra_requests: list[int] = []

    def build(settings: Settings) -> tuple[float, EnsureResult, ResolvedEnvironment]:
        target = resolve(spec_of(pins, run=uuid.uuid4().hex[:8]), settings)
        started = time.monotonic()
        result = ensure_image(target, settings=settings, outside=io)
        return time.monotonic() - started, result, target

    def timed_attest(result: EnsureResult, target: ResolvedEnvironment, s: Settings) -> float:
        started = time.monotonic()
        attest(result, target, "bench:1", settings=s, outside=io)
        return time.monotonic() - started

    with tempfile.TemporaryDirectory(prefix="bench-supply-") as tmp:
        settings = replace(bench_settings(run_namespace("bench-supply")), cache_dir=Path(tmp))
        say("prefill: one image attested, so the dpkg cache knows the base")
        _, result, target = build(settings)
        timed_attest(result, target, settings)
        for i in range(runs):
            say(f"run {i + 1}/{runs}: cold build+push, attest with an empty dpkg cache")
            seconds, result, target = build(settings)
            empty.append(seconds)
            fresh = replace(settings, cache_dir=Path(tmp) / f"empty-{i}")
            empty_attest.append(timed_attest(result, target, fresh))
            say(f"run {i + 1}/{runs}: cold build+push, attest (dpkg cache warm)")
            seconds, result, target = build(settings)
            cold.append(seconds)
            cold_attest.append(timed_attest(result, target, settings))
            say(f"run {i + 1}/{runs}: cache hit")
            reset_request_count()
            started = time.monotonic()
            reused = ensure_image(target, settings=settings, outside=io)
            hit.append(time.monotonic() - started)
            plain_requests = request_count()
            reset_request_count()
            hit_attest.append(timed_attest(reused, target, settings))
            extra_requests.append(request_count())
            say(f"  requests on a hit: {plain_requests} + {extra_requests[-1]} for the referrers")
    print_table(
        "SBOM + provenance: what they add",
        [
            Row(
                "(a) cold build+push + attest",
                [c + a for c, a in zip(cold, cold_attest, strict=True)],
                cold,
                1.05,
            ),
            Row(
                "(b) same, dpkg cache empty",
                [c + a for c, a in zip(empty, empty_attest, strict=True)],
                empty,
                None,
            ),
            Row(
                "(c) cache hit + referrers lookup",
                [h + a for h, a in zip(hit, hit_attest, strict=True)],
                hit,
                None,
            ),
        ],
    )
    worst = max(extra_requests)
    print(
        f"{'extra registry requests on a hit':36} {worst:>9} {'':>10}  {'':24} "
        f"{'<=1':>7} {'yes' if worst <= 1 else 'NO'}"
    )


if __name__ == "__main__":
    main()
