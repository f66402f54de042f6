"""No-change `pulumi preview` of a stack of 100 environments (20 distinct
hashes) vs a stack of 100 trivial dynamic resources, side by side in one run,
and the registry requests the environment preview made.

Registry requests are counted by a small counting proxy in front of the local
registry, through which the environments' base image is addressed. (Builds
push straight to the registry; a no-change preview asks no registry but the
base image's, which is what the count checks.)

    python benchmarks/bench_preview.py [--runs 5] [--resources 100] [--distinct 20]
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

for i in range(int(pulumi.Config().require("count"))):
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


def pulumi(cwd: Path, *args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        ["pulumi", *args, "--non-interactive", "--stack", "bench"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(
            f"pulumi {' '.join(args)} failed in {cwd}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resources", type=int, default=100)
    parser.add_argument("--distinct", type=int, default=20)
    args = parser.parse_args()

    registry = os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")
    proxy = CountingProxy(registry)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    base = os.environ.get("MLENV_BASE_IMAGE", "127.0.0.1:5000/mlenv/python:3.11-bookworm")
    base_via_proxy = proxy.address + "/" + base.split("/", 1)[1]

    with tempfile.TemporaryDirectory(prefix="mlenv-bench-") as tmp:
        root = Path(tmp)
        (root / "backend").mkdir()
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{root / 'backend'}",
            "MLENV_INSECURE_REGISTRIES": proxy.address,
        }
        count = str(args.resources)
        envs = make_project(
            root,
            "envs",
            ENV_PROGRAM,
            {
                "workspacePath": str(root / "ws.db"),
                # Pushes go straight to the registry (BuildKit pushes over HTTP only
                # to registries its config names); the preview asks only the base's.
                "registry": f"{registry}/bench-{os.getpid()}",
                "base": base_via_proxy,
                "count": count,
                "distinct": str(args.distinct),
            },
            env,
        )
        trivial = make_project(root, "trivial", TRIVIAL_PROGRAM, {"count": count}, env)
        print(
            f"setting up: {args.resources} environments ({args.distinct} distinct hashes) "
            f"and {args.resources} trivial resources ...",
            file=sys.stderr,
        )
        up_envs = pulumi(envs, "up", "--yes", "--skip-preview", "--parallel", "8", env=env)
        up_trivial = pulumi(trivial, "up", "--yes", "--skip-preview", env=env)
        print(f"first up: environments {up_envs:.1f}s, trivial {up_trivial:.1f}s", file=sys.stderr)

        env_times, trivial_times, requests = [], [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            trivial_times.append(pulumi(trivial, "preview", env=env))
            before = proxy.count
            env_times.append(pulumi(envs, "preview", env=env))
            requests.append(proxy.count - before)
        proxy.shutdown()

    e, t = statistics.median(env_times), statistics.median(trivial_times)
    rows = [
        (f"no-change preview, {args.resources} trivial dynamic resources", f"{t:.2f} s", "1.00x"),
        (
            f"no-change preview, {args.resources} environments",
            f"{e:.2f} s",
            f"{e / t:.2f}x (aim <= 1.5x)",
        ),
        (
            "registry requests per environment preview",
            str(statistics.median(requests)),
            "aim: 1 (one tag-pinned base image)",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure (median of ' + str(args.runs) + ' runs)':<{width}}  {'value':>8}  ratio")
    for label, value, ratio in rows:
        print(f"{label:<{width}}  {value:>8}  {ratio}")


if __name__ == "__main__":
    main()
