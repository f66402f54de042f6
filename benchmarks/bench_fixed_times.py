"""What reproducible Docker steps cost, side by side in one run.

A definition with three custom ``RUN`` steps that write a few thousand files
(the kind of thing ``apt-get install`` does) and, in the second table, a
real package set (numpy, pandas). Each is built three ways on the
configured BuildKit, without the layer cache (the download cache is warm
for all three, so that the downloads' noise stays out):

  plain      the steps as written: not reproducible across machines
  in-step    each RUN fixes its own files' times (what mlenv does,
             ``imaging.reproducible``)
  exporter   the steps as written + the exporter's ``rewrite-timestamp``,
             which recompresses every layer above the base

Prints seconds (median of ``--rounds``, the three interleaved) and the ratio
to ``plain``, with the aim beside it (in-step: at most 1.15 for the whole
environment; the exporter is the alternative, shown for reference).

Run: ``source scripts/env.sh && .venv/bin/python benchmarks/bench_fixed_times.py``
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest import mock

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging import builder, dockerfile
from pulumi_mlenv.service import build_plan
from pulumi_mlenv.service.resolved import resolve

STEPS = [
    "RUN mkdir -p /srv/a && for i in $(seq 1 3000); do echo $i > /srv/a/f$i; done",
    "RUN cp -r /usr/lib/python3.11 /srv/py && echo changed >> /etc/issue",
    'RUN python3 -c \'import json; json.dump(list(range(10**5)), open("/srv/n.json", "w"))\'',
]
PACKAGES = ["numpy==2.1.3", "pandas==2.2.3"]


def _as_written(lines: Sequence[str], **_: Any) -> list[str]:
    return list(lines)


@contextmanager
def _variant(name: str) -> Iterator[None]:
    """Patch the recipe into the variant (a benchmark-only switch)."""
    if name == "in-step":
        yield
        return
    with (
        mock.patch.object(dockerfile, "fix_step_times", _as_written),
        mock.patch.object(builder, "needs_rewrite_timestamp", lambda _: name == "exporter"),
    ):
        yield


def _spec(pip: list[str], run: str) -> Any:
    return parse_definition(
        {
            "name": "bench",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": pip}]}},
            # A step of its own keys the build on this run: no earlier run's layers.
            "docker": {"steps": [f"ENV MLENV_BENCH_RUN={run}", *STEPS]},
        }
    )


def _table(title: str, build: Callable[[str], float], rounds: int, aim: float | None) -> None:
    names = ("plain", "in-step", "exporter")
    build("plain")  # warm the download cache and the base, untimed
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            seconds[name].append(build(name))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{title:40} {'seconds':>8} {'ratio':>7} {'aim':>6}")
    for name in names:
        shown = f"{aim:.2f}" if name == "in-step" and aim is not None else "-"
        print(f"{name:40} {median[name]:8.2f} {median[name] / median['plain']:7.3f} {shown:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    settings = replace(Settings.from_env(), registry=f"127.0.0.1:5000/{ns}")

    def build(pip: list[str]) -> Callable[[str], float]:
        def run(name: str) -> float:
            spec = _spec(pip, uuid.uuid4().hex)
            plan = replace(
                build_plan(resolve(spec, settings), settings, no_cache=True),
                cache_id=ns,
                push=False,
            )
            with _variant(name):
                started = time.monotonic()
                builder.build_image(plan)
                return time.monotonic() - started

        return run

    _table("steps + six (cold build)", build(["six==1.16.0"]), args.rounds, None)
    _table("steps + numpy, pandas (cold build)", build(PACKAGES), args.rounds, 1.15)


if __name__ == "__main__":
    main()
