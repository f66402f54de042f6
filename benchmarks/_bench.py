"""What the benchmark scripts share: a run's namespace and settings, the
reference environment, plain ``buildctl`` builds of a Dockerfile folder (the
baselines and peers), our own builds through the service, registry sizes and
the table every script prints (each figure beside its aim, and whether it is
met, with the spread over the runs).

Not part of the package: the scripts import it from their own folder, so each
runs standalone (``python benchmarks/bench_x.py``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec, parse_definition
from pulumi_mlenv.imaging.builder import DEFAULT_COMPRESSION, build_image, find_uv
from pulumi_mlenv.registry import RegistryClient
from pulumi_mlenv.service import build_plan
from pulumi_mlenv.service.resolved import resolve

#: The reference environment of bench_build and bench_peers (a pinned set).
PINS = ("numpy==2.1.3", "pandas==2.2.3", "scikit-learn==1.5.2", "requests==2.32.3")
#: The same set with one small pin moved.
CHANGED = ("numpy==2.1.3", "pandas==2.2.3", "scikit-learn==1.5.2", "requests==2.32.2")

#: The conventional build: ``pip install -r`` into a venv, one layer.
CONVENTIONAL = """FROM {base}
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=ca python3 -m venv /venv \\
 && PIP_CERT=/run/secrets/ca /venv/bin/pip install -r /tmp/requirements.txt
ENV PATH=/venv/bin:$PATH
"""

#: A small environment the run benchmarks start (bench_runs, bench_ray).
SMALL_DEFINITION = """\
name: {name}
python:
  conda:
    dependencies:
      - python=3.11
      - pip:
          - six==1.16.0
environment_variables:
  GREETING: hello
"""


def timed_run(
    command: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[float, str]:
    """Wall seconds of ``command`` as a whole process, and its output; the
    script stops with the output's end when the command fails."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def pair(
    runs: int, ours: list[str], base: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[list[float], list[float]]:
    """Seconds of ``ours`` and ``base`` per run, timed alternately (so a
    machine getting busier weighs on both alike)."""
    a, b = [], []
    for _ in range(runs):
        a.append(timed_run(ours, env, cwd)[0])
        b.append(timed_run(base, env, cwd)[0])
    return a, b


def say(message: str) -> None:
    """Progress, to stderr (the tables go to stdout)."""
    print(message, file=sys.stderr, flush=True)


def run_namespace(prefix: str = "bench") -> str:
    """A registry namespace of its own for this run: nothing an earlier run
    pushed can be found by it."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def bench_settings(ns: str) -> Settings:
    """Settings from the environment, pushing under ``<registry>/<ns>``."""
    settings = Settings.from_env()
    host = os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")
    return replace(settings, registry=f"{host}/{ns}")


def spec_of(pins: Sequence[str], run: str = "", name: str = "bench") -> EnvironmentSpec:
    """The definition of a system-managed environment with ``pins``. ``run``
    adds a step of its own, which keys every stage on this run (so no earlier
    run's layers are reused)."""
    data: dict[str, object] = {
        "name": name,
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pins)}]}},
    }
    if run:
        data["docker"] = {"steps": [f"ENV MLENV_BENCH_RUN={run}"]}
    return parse_definition(data)


@dataclass(frozen=True, slots=True)
class OurBuild:
    """What one build of ours took."""

    seconds: float
    digest: str
    image: str


def ours(
    settings: Settings,
    pins: Sequence[str],
    *,
    cold: bool,
    push: bool = True,
    cache_id: str = "",
    run: str = "",
    compression: str = DEFAULT_COMPRESSION,
) -> OurBuild:
    """Build (and push) our image of ``pins`` through ``service.build_plan``.
    Cold: no layer cache and a fresh download-cache id."""
    plan = replace(
        build_plan(resolve(spec_of(pins, run), settings), settings, no_cache=cold),
        cache_id=cache_id or run_namespace(),
        push=push,
        compression=compression,
    )
    started = time.monotonic()
    built = build_image(plan)
    return OurBuild(time.monotonic() - started, built.digest, plan.image_name)


def buildctl(
    folder: Path,
    ref: str,
    settings: Settings,
    *,
    push: bool = True,
    no_cache: bool = False,
    secrets: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> float:
    """``buildctl build`` of the Dockerfile in ``folder`` on our BuildKit
    daemon, as any Dockerfile-based builder runs it; seconds taken."""
    cmd = [
        "buildctl", "--addr", settings.buildkit_host, "build",
        "--frontend", "dockerfile.v0",
        "--local", f"context={folder}", "--local", f"dockerfile={folder}",
        "--output", f"type=image,name={ref},push={'true' if push else 'false'}"
        ",registry.insecure=true",
        *extra,
    ]  # fmt: skip
    for sid, src in (secrets or {}).items():
        cmd += ["--secret", f"id={sid},src={src}"]
    if no_cache:
        cmd.append("--no-cache")
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"buildctl build of {folder} failed:\n{done.stderr[-4000:]}")
    return time.monotonic() - started


def conventional(settings: Settings, folder: Path, pins: Sequence[str], ref: str) -> float:
    """The ``pip install -r`` baseline, cold (no layer cache, no pip cache), pushed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(CONVENTIONAL.format(base=settings.base_image))
    (folder / "requirements.txt").write_text("\n".join(pins) + "\n")
    return buildctl(
        folder, ref, settings, no_cache=True, secrets={"ca": settings.ca_bundle or "/dev/null"}
    )


def tools_image(settings: Settings, ns: str, work: Path) -> str:
    """An image built from the base image carrying our uv binary at ``/uv``
    and the CA bundle at ``/etc/ssl/certs/ca-certificates.crt``: stands in
    for the public uv and micromamba images peers pull (not reachable here)."""
    folder = work / "tools"
    folder.mkdir(parents=True, exist_ok=True)
    uv = folder / "uv"
    if not uv.exists():
        os.link(find_uv(), uv) if _same_fs(find_uv(), folder) else uv.write_bytes(
            Path(find_uv()).read_bytes()
        )
        uv.chmod(0o755)
    (folder / "ca.crt").write_bytes(Path(settings.ca_bundle or "/dev/null").read_bytes())
    (folder / "Dockerfile").write_text(
        f"FROM {settings.base_image}\n"
        "COPY uv /uv\nCOPY uv /usr/bin/uv\n"
        "COPY ca.crt /etc/ssl/certs/ca-certificates.crt\n"
    )
    ref = f"{settings.registry}/peer-tools:latest"
    buildctl(folder, ref, settings)
    return ref


def _same_fs(a: str, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def image_size(ref: str) -> int:
    """Compressed bytes of an image (config + layers), from its manifest."""
    host, rest = ref.split("/", 1)
    repository, _, tag = rest.rpartition(":") if "@" not in rest else (*rest.split("@"), "")
    reference = tag or rest.split("@", 1)[1]
    with RegistryClient(host) as client:
        info = client.manifest_info(repository, reference)
        assert info is not None, ref
        return info.size


def spread(values: Sequence[float]) -> str:
    """``median (min-max)`` of a figure over runs."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table: a figure of ours against its reference, per run,
    with the aim for ``ours / reference`` (None: shown, no aim). ``every``:
    the aim must hold in every run, else the median must meet it."""

    name: str
    ours: Sequence[float]
    reference: Sequence[float]
    aim: float | None
    unit: str = "s"
    every: bool = False

    @property
    def ratios(self) -> list[float]:
        pairs = zip(self.ours, self.reference, strict=True)
        return [o / r if r else float("inf") for o, r in pairs]

    @property
    def met(self) -> str:
        if self.aim is None:
            return "-"
        ok = (
            all(r <= self.aim for r in self.ratios)
            if self.every
            else statistics.median(self.ratios) <= self.aim
        )
        return "yes" if ok else "NO"


def print_table(title: str, rows: Sequence[Row]) -> None:
    """The table, to stdout: medians of each side, the ratio's median and
    spread (min-max over the runs), the aim and whether it is met."""
    runs = max(len(r.ratios) for r in rows)
    print(f"\n{title} ({runs} run{'s' if runs > 1 else ''}; ratio: median (min-max))")
    width = max(len(r.name) for r in rows) + 2
    print(f"{'measure':{width}} {'ours':>9} {'reference':>10}  {'ratio':24} {'aim':>7} met")
    for r in rows:
        aim = "-" if r.aim is None else ("<=" if not r.every else "all<=") + f"{r.aim:g}"
        o, ref = statistics.median(r.ours), statistics.median(r.reference)
        print(
            f"{r.name:{width}} {o:8.2f}{r.unit:1} {ref:9.2f}{r.unit:1}  {spread(r.ratios):24}"
            f" {aim:>7} {r.met}"
        )
