"""No-change `pulumi preview` of stacks of 10, 100 and 1,000 environments
(20 distinct hashes) vs stacks of as many trivial dynamic resources, side by
side and interleaved in one run: the ratio at each size (aims: <= 1.15x at
100, <= 1.2x at 1,000), the slope (seconds per resource) of each, the peak
memory of the dynamic provider process (VmHWM), and the registry requests
the environment preview made.

The environments are user-managed (no packages): the 1,000-resource `up`
builds only the 20 distinct images, so the setup stays bounded.

Registry requests are counted by a small counting proxy in front of the local
registry, through which the environments' base image is addressed. (Builds
push straight to the registry; a no-change preview asks no registry but the
base image's, which is what the count checks.)

    python benchmarks/bench_preview.py [--runs 3] [--counts 10,100,1000] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pulumi_mlenv import procfs

ENV_PROGRAM = """
import json
import pulumi
from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

cfg = pulumi.Config()
workspace = Workspace("ws", path=cfg.require("workspacePath"))
registry = ContainerRegistry("registry", address=cfg.require("registry"))
distinct = int(cfg.require("distinct"))
for i in range(int(cfg.require("count"))):
    Environment(
        f"env-{i}",
        python={"user_managed": True, "interpreter_path": "/usr/bin/python3"},
        docker={"base_image": cfg.require("base"), "steps": [f"ENV BENCH_VARIANT={i % distinct}"]},
        environment_variables={"INDEX": str(i)},
        workspace=workspace,
        registry=registry,
    )
"""

TRIVIAL_PROGRAM = """
import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource, ResourceProvider

class Noop(ResourceProvider):
    def check(self, olds, news):
        return CheckResult(news, [])
    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("value") != news.get("value"))
    def create(self, props):
        return CreateResult(id_=str(props["value"]), outs=props)

class Trivial(Resource, module="bench", name="Trivial"):
    def __init__(self, name, value):
        super().__init__(Noop(), name, {"value": value})

# The SDK nests a pickler wrapper per dynamic resource (quadratic work, then
# RecursionError at ~960 resources); undo it as our resources do
# (pulumi_mlenv.resources._provider.unwrap_pickler), so both sides are fair.
import pickle

def unwrap_pickler():
    fn = pickle._Pickler._batch_setitems
    while fn.__qualname__ != "_Pickler._batch_setitems" and fn.__closure__:
        fn = next(c.cell_contents for c in fn.__closure__ if callable(c.cell_contents))
    pickle._Pickler._batch_setitems = fn

for i in range(int(pulumi.Config().require("count"))):
    unwrap_pickler()
    Trivial(f"r-{i}", i)
"""


class CountingProxy(ThreadingHTTPServer):
    """Forwards every request to the registry and counts them."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.count = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: CountingProxy

    def _forward(self) -> None:
        with self.server.lock:
            self.server.count += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, *_: object) -> None:
        pass


class PeakMemory:
    """Peak resident memory (``VmHWM``) of the dynamic provider processes
    that descend from one ``pulumi`` process, read from /proc while it runs
    (the provider is ended with the engine, so it is read every 0.1 s)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, root_pid: int) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, args=(root_pid,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self, root_pid: int) -> None:
        while not self._stop.is_set():
            for pid in procfs.descendants(root_pid):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"pulumi.dynamic" not in cmdline:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except (OSError, ValueError):
                    continue
            self._stop.wait(0.1)


def pulumi(cwd: Path, *args: str, env: dict[str, str], memory: PeakMemory | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["pulumi", *args, "--non-interactive", "--stack", "bench"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if memory is not None:
        memory.watch(proc.pid)
    out, err = proc.communicate()
    if memory is not None:
        memory.stop()
    if proc.returncode != 0:
        sys.exit(f"pulumi {' '.join(args)} failed in {cwd}:\n{out[-3000:]}{err[-2000:]}")
    return time.perf_counter() - start


def make_project(
    root: Path, name: str, program: str, config: dict[str, str], env: dict[str, str]
) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (folder / "__main__.py").write_text(program)
    subprocess.run(
        ["pulumi", "stack", "init", "bench"], cwd=folder, env=env, check=True, capture_output=True
    )
    for key, value in config.items():
        subprocess.run(
            ["pulumi", "config", "set", "--stack", "bench", key, value],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
    return folder


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares seconds per resource over (count, seconds) points."""
    n = len(points)
    mx = sum(c for c, _ in points) / n
    my = sum(s for _, s in points) / n
    den = sum((c - mx) ** 2 for c, _ in points)
    return sum((c - mx) * (s - my) for c, s in points) / den if den else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--counts", default="10,100,1000", help="stack sizes, comma-separated (default 10,100,1000)"
    )
    parser.add_argument("--distinct", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10 and 100 resources, one run")
    args = parser.parse_args()
    counts = [10, 100] if args.quick else [int(c) for c in args.counts.split(",")]
    runs = 1 if args.quick else args.runs

    registry = os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")
    proxy = CountingProxy(registry)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    base = os.environ.get("MLENV_BASE_IMAGE", "127.0.0.1:5000/mlenv/python:3.11-bookworm")
    base_via_proxy = proxy.address + "/" + base.split("/", 1)[1]

    times: dict[tuple[str, int], list[float]] = {}
    peak: dict[tuple[str, int], int] = {}
    requests: list[int] = []
    with tempfile.TemporaryDirectory(prefix="mlenv-bench-") as tmp:
        root = Path(tmp)
        (root / "backend").mkdir()
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{root / 'backend'}",
            "MLENV_INSECURE_REGISTRIES": proxy.address,
        }
        projects: dict[tuple[str, int], Path] = {}
        for count in counts:
            projects["environments", count] = make_project(
                root,
                f"envs{count}",
                ENV_PROGRAM,
                {
                    "workspacePath": str(root / f"ws{count}.db"),
                    # Pushes go straight to the registry (BuildKit pushes over HTTP only
                    # to registries its config names); the preview asks only the base's.
                    "registry": f"{registry}/bench-{os.getpid()}",
                    "base": base_via_proxy,
                    "count": str(count),
                    "distinct": str(args.distinct),
                },
                env,
            )
            projects["trivial", count] = make_project(
                root, f"trivial{count}", TRIVIAL_PROGRAM, {"count": str(count)}, env
            )
            print(
                f"setting up: {count} environments ({args.distinct} distinct hashes) "
                f"and {count} trivial resources ...",
                file=sys.stderr,
            )
            up_e = pulumi(
                projects["environments", count], "up", "--yes", "--skip-preview",
                "--parallel", "8", env=env,
            )  # fmt: skip
            up_t = pulumi(projects["trivial", count], "up", "--yes", "--skip-preview", env=env)
            print(f"  first up: environments {up_e:.1f}s, trivial {up_t:.1f}s", file=sys.stderr)

        for i in range(runs):  # interleaved, so machine noise hits both alike
            print(f"run {i + 1}/{runs} ...", file=sys.stderr)
            for count in counts:
                for side in ("trivial", "environments"):
                    memory = PeakMemory()
                    before = proxy.count
                    seconds = pulumi(projects[side, count], "preview", env=env, memory=memory)
                    times.setdefault((side, count), []).append(seconds)
                    peak[side, count] = max(peak.get((side, count), 0), memory.peak_kb)
                    if side == "environments" and count == counts[-1]:
                        requests.append(proxy.count - before)
        proxy.shutdown()

    aims = {100: 1.15, 1000: 1.2}
    print(f"\nNo-change pulumi preview, environments vs trivial dynamic resources ({runs} runs)")
    print(
        f"{'resources':>9} {'trivial s':>10} {'ours s':>9}  {'ratio: median (min-max)':24}"
        f" {'aim':>6} {'met':>3}  {'provider peak MB (trivial/ours)':>32}"
    )
    for count in counts:
        t, e = times["trivial", count], times["environments", count]
        ratios = [a / b for a, b in zip(e, t, strict=True)]
        med = statistics.median(ratios)
        aim = aims.get(count)
        met = "-" if aim is None else ("yes" if med <= aim else "NO")
        spread = f"{med:.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        mem = f"{peak['trivial', count] / 1024:.0f} / {peak['environments', count] / 1024:.0f}"
        aim_text = "-" if aim is None else f"<={aim:g}"
        print(
            f"{count:>9} {statistics.median(t):10.2f} {statistics.median(e):9.2f}  {spread:24}"
            f" {aim_text:>6} {met:>3}  {mem:>32}"
        )
    if len(counts) > 1:
        st = slope([(c, statistics.median(times["trivial", c])) for c in counts])
        se = slope([(c, statistics.median(times["environments", c])) for c in counts])
        print(
            f"slope (s per resource, least squares): trivial {st * 1000:.2f} ms,"
            f" environments {se * 1000:.2f} ms ({se / st:.2f}x)"
        )
    print(
        f"registry requests per environment preview ({counts[-1]} resources): "
        f"{statistics.median(requests):g} (aim: 1, the tag-pinned base image)"
    )


if __name__ == "__main__":
    main()
