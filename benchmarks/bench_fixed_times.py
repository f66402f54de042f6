"""What fixing times inside each Docker step costs, side by side in one run.

One definition's step 1 (the base image and three custom ``RUN`` steps that
write a few thousand files, the kind of thing ``apt-get install`` does),
built cold (``--no-cache``) on the configured BuildKit three ways:

  plain      the steps as written: fast, not reproducible across machines
  in-step    ``imaging.reproducible.fix_step_times`` (what mlenv does)
  exporter   the steps as written + the exporter's ``rewrite-timestamp=true``

Prints seconds (median of ``--rounds``, builds interleaved) and the ratios
against ``plain``, with the aim beside each:

  in-step / plain     (aim <= 1.15)
  exporter / plain    (no aim: the alternative, for reference)

Run: ``source scripts/env.sh && .venv/bin/python benchmarks/bench_fixed_times.py``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.imaging.builder import DEFAULT_COMPRESSION
from pulumi_mlenv.imaging.reproducible import fix_step_times

STEPS = [
    "RUN mkdir -p /srv/a && for i in $(seq 1 3000); do echo $i > /srv/a/f$i; done",
    "RUN cp -r /usr/lib/python3.11 /srv/py && echo changed >> /etc/issue",
    'RUN python3 -c \'import json; json.dump(list(range(10**5)), open("/srv/n.json", "w"))\'',
]


def _build(settings: Settings, text: str, *, clamp: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "Dockerfile").write_text(text)
        output = (
            f"type=image,name=127.0.0.1:5000/bench/fixed-times:{uuid.uuid4().hex[:8]},push=false"
            f",oci-mediatypes=true,compression={DEFAULT_COMPRESSION},force-compression=true"
            + (",rewrite-timestamp=true" if clamp else "")
        )
        started = time.monotonic()
        subprocess.run(
            [
                "buildctl", "--addr", settings.buildkit_host, "build",
                "--frontend", "dockerfile.v0", "--no-cache",
                "--local", f"context={folder}", "--local", f"dockerfile={folder}",
                "--opt", "build-arg:SOURCE_DATE_EPOCH=0", "--output", output,
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env()
    lines = [f"FROM {settings.base_image}", *STEPS]
    texts = {
        "plain": ("\n".join(lines) + "\n", False),
        "in-step": ("\n".join(fix_step_times(lines)) + "\n", False),
        "exporter": ("\n".join(lines) + "\n", True),
    }
    _build(settings, texts["plain"][0], clamp=False)  # pull the base once, untimed
    seconds: dict[str, list[float]] = {name: [] for name in texts}
    for _ in range(args.rounds):
        for name, (text, clamp) in texts.items():
            seconds[name].append(_build(settings, text, clamp=clamp))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"{'measure (cold build of step 1)':36} {'seconds':>8} {'ratio':>7} {'aim':>6}")
    for name, aim in (("plain", None), ("in-step", 1.15), ("exporter", None)):
        ratio = median[name] / median["plain"]
        aim_text = f"{aim:.2f}" if aim is not None else "-"
        print(f"{name:36} {median[name]:8.2f} {ratio:7.3f} {aim_text:>6}")


if __name__ == "__main__":
    main()
