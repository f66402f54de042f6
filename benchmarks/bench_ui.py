"""`mlenv ui`'s pages on a busy workspace: how long each takes to answer,
served in-process (Starlette's test client: no socket, no browser), over a
SQLite workspace of ENVS environments x VERSIONS versions with image records
and locks, RUNS runs (the page reads the newest 200), models and an endpoint
over two deployments. Aim: every page under 1 s (median), on a 2-core
machine shared with other work.

Run: .venv/bin/python benchmarks/bench_ui.py [--envs 10] [--versions 10]
     [--runs 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from pulumi_mlenv.ui import create_app
from pulumi_mlenv.workspace import ImageRecord, RunRecord, RunStatus, RunStore, Workspace
from pulumi_mlenv.workspace.serving_store import (
    DeploymentRecord,
    EndpointRecord,
    Lineage,
    ServingStore,
)

AIM_SECONDS = 1.0


def _fill(url: str, envs: int, versions: int, runs: int, folder: Path) -> None:
    with Workspace(url) as ws:
        for e in range(envs):
            for v in range(versions):
                env_hash = f"{e:032x}{v:032x}"
                digest = "sha256:" + env_hash
                pins = [f"numpy==2.{v}.0", f"pandas==2.{e}.{v}"]
                ws.record_image(
                    ImageRecord(
                        env_hash=env_hash, registry="127.0.0.1:5000", repository="mlenv/env",
                        digest=digest, size=1, created="", base_image=None, base_digest=None,
                        dockerfile="", lock=tuple(pins),
                    )
                )  # fmt: skip
                ws.register_version(
                    f"env{e}",
                    env_hash,
                    version=None,
                    image=f"127.0.0.1:5000/mlenv/env@{digest}",
                    definition={
                        "name": f"env{e}",
                        "python": {"conda": {"dependencies": [{"pip": pins}]}},
                    },
                )
    store = RunStore(url)
    try:
        for i in range(runs):
            store.add(
                RunRecord(
                    id=f"{i:012x}", env_name="env0", env_version="1", env_hash="0" * 64,
                    image=None, lock=("numpy==2.0.0",), compute="local", compute_kind="local",
                    compute_url=None, source_hash="a" * 64, source_path=str(folder),
                    script="train.py", arguments=(), variables=(),
                    logs_path=str(folder / "output.log"), outputs_path=str(folder),
                    status=RunStatus.COMPLETED, exit_code=0,
                )
            )  # fmt: skip
    finally:
        store.close()
    with ServingStore(url) as serving:
        for i in range(20):
            serving.register_model(
                "iris", content_hash=f"sha256:{i:064x}", uri=str(folder),
                source_path=str(folder), size=1, files=("m",),
                lineage=Lineage(run_id=f"{i:012x}", env_name="env0", env_version="1"),
            )  # fmt: skip
        for name, port in (("blue", 41001), ("green", 41002)):
            serving.put_deployment(
                DeploymentRecord(
                    instance=name, name=name, model_name="iris", model_version="1",
                    env_name="env0", env_version="1", image="x", compute_url="",
                    port=port, container_id=None, code_hash="", status="healthy",
                )
            )  # fmt: skip
        serving.put_endpoint(
            EndpointRecord(
                name="scoring", port=41010, home="",
                backends=(("blue", "127.0.0.1:41001", 90), ("green", "127.0.0.1:41002", 10)),
            )
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=10)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and once")
    args = parser.parse_args()
    if args.quick:
        args.envs, args.versions, args.runs, args.repeat = 2, 3, 10, 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'workspace.db'}"
        (folder / "output.log").write_text("line\n" * 1000)
        _fill(url, args.envs, args.versions, args.runs, folder)
        pages = [
            "/", "/environments/env0", "/environments/env0/1", "/compare?old=env0:1&new=env0:2",
            "/runs", "/runs/000000000000", "/models/iris/1", "/deployments", "/lineage",
        ]  # fmt: skip
        print(
            f"{args.envs * args.versions} versions, {args.runs} runs, 20 models; "
            f"median of {args.repeat} (s), aim < {AIM_SECONDS} s"
        )
        print("| page | median s | max s | aim met |")
        print("|---|---|---|---|")
        with TestClient(create_app(url), base_url="http://127.0.0.1") as client:
            for path in pages:
                assert client.get(path).status_code == 200, path
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    client.get(path)
                    times.append(time.perf_counter() - started)
                median = statistics.median(times)
                met = "yes" if median < AIM_SECONDS else "no"
                print(f"| `{path}` | {median:.3f} | {max(times):.3f} | {met} |")


if __name__ == "__main__":
    main()
