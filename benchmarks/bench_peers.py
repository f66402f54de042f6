"""Our build against the builders users would pick instead, side by side.

Peers, on the same BuildKit daemon, base image, uv binary and pinned set
(``_bench.PINS``), interleaved in each run:

- **Flyte**: the Dockerfile flytekit's ImageSpec default builder renders
  (``flytekit.image_spec.default_builder.create_docker_context``), from
  flytekit installed from PyPI into a throwaway virtualenv under the cache
  (created here, once). Its ``uv`` and ``micromamba`` stages point at an image
  this script builds from the base image, carrying our uv binary and the CA
  bundle (the public images are not reachable here). Adjustments, all
  disclosed: the ``flytekit`` requirement it appends is dropped (both sides
  install the same packages); the ``#syntax=`` line is dropped (it would pull
  a frontend image; the daemon's built-in frontend reads the file as is);
  its uv cache-mount id gets a per-build suffix for cold builds (as ours
  gets a fresh cache id); ``python_exec`` is the base's Debian Python (the
  ImageSpec way for a base that has Python) and ``SSL_CERT_FILE`` points uv
  at the CA bundle (what a user behind this proxy sets).
- **BentoML**: ``bentoml containerize`` through its ``buildctl`` backend, when
  it can build here; otherwise the script prints exactly why not.

Figures (aims from issue 15): cold build+push <= 0.5x of each peer;
one-pin rebuild+push <= 0.15x of each peer's.

    python benchmarks/bench_peers.py [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _bench import (
    CHANGED,
    PINS,
    Row,
    bench_settings,
    buildctl,
    ours,
    print_table,
    run_namespace,
    say,
    tools_image,
)
from pulumi_mlenv.config import Settings

FLYTEKIT = "flytekit==1.16.31"
BENTOML = "bentoml==1.4.40"

#: Run inside the flytekit virtualenv: render the default builder's context.
_RENDER_FLYTE = """
import json, sys
from pathlib import Path
from flytekit.image_spec import ImageSpec
from flytekit.image_spec.default_builder import create_docker_context
args = json.loads(sys.argv[1])
spec = ImageSpec(
    name="bench-flyte",
    base_image=args["base"],
    packages=args["pins"],
    python_exec="/usr/bin/python3",
    registry=args["registry"],
    env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", **args["env"]},
    builder_config={"uv_image": args["tools"], "micromamba_image": args["tools"]},
)
create_docker_context(spec, Path(args["folder"]))
"""


def peer_venv(settings: Settings, requirement: str) -> Path:
    """A throwaway virtualenv holding ``requirement`` under the cache,
    created once (idempotent); its python."""
    name = requirement.split("==", 1)[0]
    folder = Path(settings.cache_dir).expanduser() / "bench" / f"{name}-venv"
    python = folder / "bin" / "python"
    marker = folder / f".installed-{requirement}"
    if not marker.exists():
        say(f"installing {requirement} into {folder} (once) ...")
        subprocess.run(["uv", "venv", "-q", "--allow-existing", str(folder)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", "--python", str(python), requirement], check=True
        )
        marker.touch()
    return python


@dataclass(frozen=True, slots=True)
class Flyte:
    """Flyte's default ImageSpec builder, rendered by flytekit itself."""

    python: Path
    settings: Settings
    tools: str
    work: Path

    def render(self, pins: Sequence[str], folder: Path, *, cache: str, run: str = "") -> None:
        folder.mkdir(parents=True)
        args = {
            "base": self.settings.base_image,
            "pins": list(pins),
            "registry": self.settings.registry,
            "tools": self.tools,
            "folder": str(folder),
            "env": {"MLENV_BENCH_RUN": run} if run else {},
        }
        subprocess.run([str(self.python), "-c", _RENDER_FLYTE, json.dumps(args)], check=True)
        reqs = folder / "requirements_uv.txt"
        kept = [r for r in reqs.read_text().splitlines() if not r.startswith("flytekit")]
        reqs.write_text("\n".join(kept))
        dockerfile = folder / "Dockerfile"
        lines = dockerfile.read_text().splitlines()
        text = "\n".join(line for line in lines if not line.startswith("#syntax="))
        dockerfile.write_text(text.replace(",id=uv ", f",id=uv-{cache} ") + "\n")

    def build(self, pins: Sequence[str], *, cold: bool, cache: str, run: str = "") -> float:
        folder = self.work / f"flyte-{run_namespace('ctx')}"
        self.render(pins, folder, cache=cache, run=run)
        ref = f"{self.settings.registry}/flyte:{folder.name}"
        return buildctl(folder, ref, self.settings, no_cache=cold)


@dataclass(frozen=True, slots=True)
class Bento:
    """BentoML's ``containerize`` through its ``buildctl`` backend. Its base
    is the tools image (the base image plus the same uv binary and CA bundle
    that Flyte's stages get: BentoML otherwise pip-installs uv into the base's
    system Python, which Debian refuses and which cannot reach PyPI without
    the CA); its ``bentoml`` requirement is dropped from the bento (both sides
    install the same packages); ``UV_CACHE_DIR`` under its cache mount is
    fresh for cold builds."""

    python: Path
    settings: Settings
    tools: str
    work: Path

    def build(self, pins: Sequence[str], *, cold: bool, cache: str, run: str = "") -> float:
        folder = self.work / f"bento-{run_namespace('ctx')}"
        folder.mkdir(parents=True)
        (folder / "service.py").write_text(
            "import bentoml\n\n@bentoml.service\nclass Bench:\n"
            "    @bentoml.api\n    def ping(self) -> str:\n        return 'ok'\n"
        )
        envs = [
            {"name": "SSL_CERT_FILE", "value": "/etc/ssl/certs/ca-certificates.crt"},
            {"name": "UV_CACHE_DIR", "value": f"/root/.cache/uv-{cache}"},
            *([{"name": "MLENV_BENCH_RUN", "value": run}] if run else []),
        ]
        (folder / "bentofile.yaml").write_text(
            json.dumps(
                {
                    "service": "service:Bench",
                    "python": {"packages": list(pins), "lock_packages": False},
                    "docker": {"base_image": self.tools},
                    "envs": envs,
                }
            )
        )
        env = {**os.environ, "BENTOML_HOME": str(self.work / "bentoml-home"),
               "BENTOML_DO_NOT_TRACK": "1"}  # fmt: skip
        bentoml = str(self.python.parent / "bentoml")
        built = subprocess.run(
            [bentoml, "build", "--output", "tag"], cwd=folder, env=env, capture_output=True,
            text=True,
        )  # fmt: skip
        if built.returncode != 0:
            raise RuntimeError("`bentoml build` failed: " + _last_error(built.stderr))
        tag = built.stdout.strip().splitlines()[-1].replace("__tag__:", "")
        name, version = tag.split(":", 1)
        bento_dir = self.work / "bentoml-home" / "bentos" / name / version
        reqs = bento_dir / "env" / "python" / "requirements.txt"
        kept = [r for r in reqs.read_text().splitlines() if not r.startswith("bentoml")]
        reqs.write_text("\n".join(kept) + "\n")
        ref = f"{self.settings.registry}/bento:{folder.name}"
        cmd = [
            bentoml, "containerize", tag, "--backend", "buildctl",
            "--opt", f"output=type=image,name={ref},push=true,registry.insecure=true",
            *(["--opt", "no-cache"] if cold else []),
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                "`bentoml containerize --backend buildctl` failed: " + _last_error(done.stderr)
            )
        return time.monotonic() - started


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    picked = [line for line in lines if "error" in line.lower()] or lines
    return " | ".join(picked[-3:])[:600]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bento-runs", type=int, default=1, help="runs with BentoML (slow)")
    parser.add_argument("--quick", action="store_true", help="one run, Flyte only")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    bento_runs = 0 if args.quick else min(args.bento_runs, runs)
    ns = run_namespace()
    settings = bench_settings(ns)
    figures: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        figures.setdefault(key, []).append(value)

    why_not_bento = "" if bento_runs else "not run (--quick or --bento-runs 0)"
    with tempfile.TemporaryDirectory(prefix="mlenv-peers-") as tmp:
        work = Path(tmp)
        tools = tools_image(settings, ns, work)
        flyte = Flyte(peer_venv(settings, FLYTEKIT), settings, tools, work)
        bento = Bento(peer_venv(settings, BENTOML), settings, tools, work) if bento_runs else None
        for i in range(runs):
            say(f"run {i + 1}/{runs}: cold builds ...")
            add("ours cold", ours(settings, PINS, cold=True).seconds)
            add("flyte cold", flyte.build(PINS, cold=True, cache=run_namespace()))
            with_bento = bento is not None and i < bento_runs and not why_not_bento
            if with_bento:
                assert bento is not None
                try:
                    add("bento cold", bento.build(PINS, cold=True, cache=run_namespace()))
                    add("ours cold (bento runs)", figures["ours cold"][-1])
                except RuntimeError as err:
                    why_not_bento, with_bento = str(err), False
            say(f"run {i + 1}/{runs}: one-pin rebuilds ...")
            run = run_namespace("run")
            ours(settings, PINS, cold=False, cache_id=run, run=run)
            add("ours pin", ours(settings, CHANGED, cold=False, cache_id=run, run=run).seconds)
            flyte.build(PINS, cold=False, cache=run, run=run)
            add("flyte pin", flyte.build(CHANGED, cold=False, cache=run, run=run))
            if with_bento:
                assert bento is not None
                bento.build(PINS, cold=False, cache=run, run=run)
                add("bento pin", bento.build(CHANGED, cold=False, cache=run, run=run))
                add("ours pin (bento runs)", figures["ours pin"][-1])
    rows = [
        Row("cold build+push vs Flyte ImageSpec", figures["ours cold"], figures["flyte cold"], 0.5),
        Row("one-pin rebuild+push vs Flyte's", figures["ours pin"], figures["flyte pin"], 0.15),
    ]
    if "bento pin" in figures:
        rows += [
            Row("cold build+push vs BentoML", figures["ours cold (bento runs)"],
                figures["bento cold"], 0.5),
            Row("one-pin rebuild+push vs BentoML's", figures["ours pin (bento runs)"],
                figures["bento pin"], 0.15),
        ]  # fmt: skip
    print_table("Peers: the same pinned set on the same BuildKit daemon, base image and uv", rows)
    if why_not_bento:
        print(f"BentoML containerize (buildctl backend): not measured: {why_not_bento}")


if __name__ == "__main__":
    main()
