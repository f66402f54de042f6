"""How long ``make test`` takes on this machine (setup done), per part:
ruff and mypy, the fast tier, the docker and engine tier; against the aim
(12 minutes in all on a 2-core machine). There is no baseline to pair it
with: the figure is minutes, with the load average beside it.

    python benchmarks/bench_make_test.py [--runs 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIM_MINUTES = 12.0

# The same parts, markers and workers as scripts/test.sh (browser tests are
# in the second tier there); the second tier also prints its slowest tests.
PARTS = {
    "ruff + mypy": "ruff check provider tests benchmarks examples && "
    "ruff format --check provider tests benchmarks examples && mypy",
    "fast tier": 'pytest -q -m "not docker and not engine and not browser" -n auto',
    "docker + engine tier": 'pytest -q -m "docker or engine or browser" -n 2 --dist loadgroup '
    "--durations=30",
}


def _slowest(output: str) -> str:
    """pytest's ``slowest durations`` section, when it printed one."""
    start = output.find("slowest")
    if start < 0:
        return ""
    section = output[output.rfind("\n", 0, start) + 1 :]
    return section.split("\n=", 1)[0].strip()


def _minutes(command: str) -> float:
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", f"source scripts/env.sh && {command}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"failed: {command}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    slowest = _slowest(done.stdout)
    if slowest:
        print(slowest, file=sys.stderr)
    return (time.monotonic() - started) / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="lint and the fast tier only")
    args = parser.parse_args()
    parts = dict(PARTS)
    if args.quick:
        parts.pop("docker + engine tier")
    subprocess.run([str(ROOT / "scripts" / "setup.sh")], check=True, capture_output=True)
    minutes: dict[str, list[float]] = {name: [] for name in parts}
    loads = []
    for _ in range(args.runs):
        for name, command in parts.items():
            minutes[name].append(_minutes(command))
        loads.append(os.getloadavg()[0])
    totals = [sum(values) for values in zip(*minutes.values(), strict=True)]
    print(f"\nmake test on {os.cpu_count()} cores ({args.runs} run(s); minutes: median (min-max))")
    for name, values in [*minutes.items(), ("total", totals)]:
        shown = f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"
        aim = f"<={AIM_MINUTES:g}" if name == "total" else "-"
        met = (
            ("yes" if statistics.median(values) <= AIM_MINUTES else "NO")
            if name == "total"
            else "-"
        )
        print(f"{name:24} {shown:24} {aim:>6} {met}")
    print(f"(load average at the end of each run: {', '.join(f'{x:.1f}' for x in loads)})")


if __name__ == "__main__":
    main()
