"""Hostile definitions: the old readers against the capped ones, side by side.

One run measures, for each attack, the pre-hardening code path (kept here as
the baseline: the old patterns, ``yaml.safe_load`` + ``str()`` as the old
format detection did) and today's ``load_definition``:

  (a) credential stripping, 1 MiB of text / old pattern   (aim <= 0.01)
  (b) 1 MiB requirements.txt of 16 kB lines ending ';'     (aim <= 0.05)
      against the old pip fast-path pattern
  (c) "billion laughs" YAML: memory and time               (aim: refused, < 10 MB)
  (d) 5,000-digit version, 100,000-level YAML               (aim: clean error)

Then the whole hostile corpus (``tests/support/hostile.py``: at least 10,000
malformed or adversarial cases over every format the product reads), each
loaded once with its CPU time and traced memory peak, per format: how many
were accepted and refused, tracebacks, problems naming no file or field,
files read outside the folder, the slowest case and the highest peak (aims:
0, 0, 0, every case under 2 s of CPU and under 500 MB). Exits 1 when an aim
is missed. ``--corpus-only`` skips the first table; ``--quick`` runs 1,000
cases (the crafted ones and a few mutated ones of each format).

The old quadratic figures are measured on smaller inputs and extrapolated
(n squared for (a), (b); nine times per alias level for (c)): run at full
size they take minutes and gigabytes. Times are CPU seconds.

Run: ``source scripts/env.sh && .venv/bin/python benchmarks/bench_hostile.py``
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pulumi_mlenv.definition import load_definition
from pulumi_mlenv.definition.text import redact_url_credentials
from pulumi_mlenv.errors import SpecError

OLD_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
OLD_FAST = re.compile(rf"\s*(?P<name>{_NAME})\s*(?:\[(?P<extras>[^\]]*)\])?(?P<specs>[^;@\[\]()]*)")
MIB = 1024 * 1024


def _cpu(fn: Callable[[], Any]) -> tuple[float, int, str]:
    """CPU seconds, traced memory peak, and the outcome of ``fn()``."""
    tracemalloc.start()
    start = time.process_time()
    try:
        fn()
        outcome = "accepted"
    except SpecError as err:
        outcome = "clean error: " + str(err).splitlines()[0][:60]
    except Exception as err:  # the baseline's failures are the point
        outcome = f"traceback: {type(err).__name__}"
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, outcome


def _laughs(levels: int, key: str) -> str:
    lines = ["name: laughs", "l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\n{key}: *l{levels - 1}\n"


def baseline() -> None:
    rows: list[tuple[str, str, str, str, str]] = []
    tmp = Path(tempfile.mkdtemp())

    # (a) stripping: old at 64 KiB (x256 for 1 MiB: quadratic), new at 1 MiB.
    small, text = "a" * (64 * 1024), "a" * MIB
    old_s, _, _ = _cpu(lambda: OLD_USERINFO.sub(r"\g<scheme>", small))
    new_s, _, _ = _cpu(lambda: redact_url_credentials(text))
    old_full = old_s * (MIB / len(small)) ** 2
    rows.append(
        (
            "(a) strip credentials, 1 MiB",
            f"{old_full:.0f} s (64 KiB: {old_s:.2f} s)",
            f"{new_s:.4f} s",
            f"{new_s / old_full:.1e}",
            "<= 0.01",
        )
    )

    # (b) 64 lines of 16,000 letters and ';' = 1 MiB: old fast path per line x 64.
    line = "a" * 16_000 + ";"
    old_line, _, _ = _cpu(lambda: OLD_FAST.fullmatch(line))
    (tmp / "requirements.txt").write_text((line + "\n") * 64)
    new_b, _, outcome = _cpu(lambda: load_definition(tmp / "requirements.txt"))
    rows.append(
        (
            "(b) 1 MiB of 16 kB lines ending ';'",
            f"{old_line * 64:.1f} s",
            f"{new_b:.2f} s ({outcome[:11]})",
            f"{new_b / (old_line * 64):.1e}",
            "<= 0.05",
        )
    )

    # (c) billion laughs: old = safe_load + str() of `$schema: *l8` (the old
    # detect_format), measured at 6 levels, x9 per level up to 9.
    (tmp / "old.yml").write_text(_laughs(6, "$schema"))
    old_c, old_peak, _ = _cpu(lambda: str(yaml.safe_load((tmp / "old.yml").read_text())["$schema"]))
    (tmp / "mlenv.yml").write_text(_laughs(9, "$schema"))
    new_c, new_peak, outcome = _cpu(lambda: load_definition(tmp / "mlenv.yml"))
    scale = 9**3
    rows.append(
        (
            "(c) billion laughs (9 levels), CPU",
            f"{old_c * scale:.0f} s (6 levels: {old_c:.2f} s)",
            f"{new_c:.3f} s",
            f"{new_c / (old_c * scale):.1e}",
            "refused",
        )
    )
    rows.append(
        (
            "    billion laughs, memory peak",
            f"{old_peak * scale / MIB:.0f} MB (6 levels: {old_peak / MIB:.0f} MB)",
            f"{new_peak / MIB:.2f} MB",
            f"{new_peak / (old_peak * scale):.1e}",
            "< 10 MB",
        )
    )
    rows.append(("    outcome", "memory or time runs out", outcome[:40], "", "clean error"))

    # (d) crashes before, clean errors now.
    (tmp / "req5000.txt").write_text("numpy==1.0a" + "1" * 5000 + "\n")
    (tmp / "deep.yml").write_text("name: a\ntags:\n" + " [\n" * 100_000)
    for label, path, old in (
        ("(d) 5,000-digit version", tmp / "req5000.txt", "traceback: ValueError"),
        ("    100,000-level YAML", tmp / "deep.yml", "traceback: RecursionError"),
    ):
        _, _, outcome = _cpu(lambda p=path: load_definition(p))  # type: ignore[misc]
        rows.append((label, old, outcome[:40], "", "clean error"))
    old_deep = _cpu(lambda: yaml.safe_load((tmp / "deep.yml").read_text()))[2]
    rows.append(("    (baseline: yaml.safe_load)", old_deep, "", "", ""))

    widths = [max(len(r[i]) for r in [*rows, _HEAD]) for i in range(5)]
    for r in [_HEAD, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    sys.stdout.flush()


_HEAD = ("experiment", "before (old code path)", "after (load_definition)", "ratio", "aim")

CPU_AIM = 2.0
PEAK_AIM = 500 * MIB


def corpus_run() -> bool:
    """The whole corpus, one case at a time; True when every aim is met."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.hostile import FORMATS, corpus
    from support.hostile_run import Outcome, run_case

    cases = corpus(1000 if "--quick" in sys.argv else 10_000)
    per: dict[str, list[Outcome]] = {fmt: [] for fmt in FORMATS}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # broken inputs repeat lines on purpose
        for i, case in enumerate(cases):
            # Twice: CPU time untraced (tracing triples it), then the memory peak.
            out = run_case(Path(tmp) / f"{i}", case)
            out.peak_bytes = run_case(Path(tmp) / f"{i}-traced", case, trace=True).peak_bytes
            per[case.fmt].append(out)
            shutil.rmtree(Path(tmp) / f"{i}")
            shutil.rmtree(Path(tmp) / f"{i}-traced")
    wall = time.perf_counter() - started
    head = ("format", "cases", "accepted", "refused", "tracebacks", "unnamed", "read outside",
            "slowest CPU s", "peak MB")  # fmt: skip
    rows = [head]
    everything = [o for outs in per.values() for o in outs]
    for fmt, outs in [*per.items(), ("all", everything)]:
        rows.append(
            (
                fmt,
                str(len(outs)),
                str(sum(o.verdict == "accepted" for o in outs)),
                str(sum(o.verdict == "refused" for o in outs)),
                str(sum(o.verdict == "traceback" for o in outs)),
                str(sum(bool(o.unnamed) for o in outs)),
                str(sum(bool(o.outside) for o in outs)),
                f"{max(o.cpu_seconds for o in outs):.3f}",
                f"{max(o.peak_bytes for o in outs) / MIB:.1f}",
            )
        )
    print()
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if j else c.ljust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    slow = sorted(everything, key=lambda o: -o.cpu_seconds)[:5]
    print(
        f"\n{len(everything)} cases in {wall:.0f} s; slowest (aim: each under {CPU_AIM:.0f} s CPU):"
    )
    for o in slow:
        print(f"  {o.cpu_seconds:7.3f} s  {o.peak_bytes / MIB:6.1f} MB  {o.ident} ({o.verdict})")
    bad = [
        o
        for o in everything
        if o.verdict == "traceback"
        or o.unnamed
        or o.outside
        or o.cpu_seconds > CPU_AIM
        or o.peak_bytes > PEAK_AIM
    ]
    for o in bad[:10]:
        print(
            f"MISSED: {o.ident}: {o.verdict} {o.cpu_seconds:.2f} s {o.peak_bytes / MIB:.0f} MB"
            f" {o.outside[:2]} {o.unnamed[:1]} {o.message[-300:]}"
        )
    print(
        f"aims: 0 tracebacks, 0 unnamed, 0 read outside, <= {CPU_AIM:.0f} s, <= 500 MB:"
        f" {'met' if not bad else f'{len(bad)} cases missed'}"
    )
    return not bad


def main() -> None:
    if "--corpus-only" not in sys.argv:
        baseline()
    sys.stdout.flush()
    sys.exit(0 if corpus_run() else 1)


if __name__ == "__main__":
    main()
