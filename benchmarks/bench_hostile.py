"""Hostile definitions: the old readers against the capped ones, side by side.

One run measures, for each attack, the pre-hardening code path (kept here as
the baseline: the old patterns, ``yaml.safe_load`` + ``str()`` as the old
format detection did) and today's ``load_definition``:

  (a) credential stripping, 1 MiB of text / old pattern   (aim <= 0.01)
  (b) 1 MiB requirements.txt of 16 kB lines ending ';'     (aim <= 0.05)
      against the old pip fast-path pattern
  (c) "billion laughs" YAML: memory and time               (aim: refused, < 10 MB)
  (d) 5,000-digit version, 100,000-level YAML               (aim: clean error)

The old quadratic figures are measured on smaller inputs and extrapolated
(n squared for (a), (b); nine times per alias level for (c)): run at full
size they take minutes and gigabytes. Times are CPU seconds.

Run: ``source scripts/env.sh && .venv/bin/python benchmarks/bench_hostile.py``
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
import tracemalloc
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


def main() -> None:
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

if __name__ == "__main__":
    main()
