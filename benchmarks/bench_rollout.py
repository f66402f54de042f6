"""Safe rollout, measured: kept-alive clients post through an endpoint while
each kind of change happens, in the order `pulumi up` performs it (a
replacement created, the endpoint updated, then the old deployment deleted).

For each change: requests, failed requests, p50 and p99 latency through the
endpoint during a window that holds the change, and the same clients
straight to a deployment for the same time (the baseline). Aim: 0 failed
requests through the endpoint in every row.

The environment is a small one (one pure-Python package) so that the three
inference images build in seconds; the server and the proxy are the real ones.

Run: ``source scripts/env.sh && python benchmarks/bench_rollout.py [--clients 15 --seconds 8]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pulumi_mlenv.config import Settings
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints, models
from pulumi_mlenv.service import environments as envs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.keepalive import KeepAliveClients, Tally  # noqa: E402

SCORE = """import json, os

def init():
    pass

def run(raw_data):
    return {"by": "TAG", "echo": json.loads(raw_data)}
"""


class Rig:
    def __init__(self, settings: Settings, ws: str, env: str, model: str, root: Path) -> None:
        self.settings, self.ws, self.env, self.model, self.root = settings, ws, env, model, root

    def deploy(self, name: str, tag: str) -> deps.Deployed:
        script = self.root / f"{tag}.py"
        script.write_text(SCORE.replace("TAG", tag))
        spec = deps.DeploymentSpec(
            name=name,
            model=self.model,
            environment=self.env,
            entry_script=str(script),
            compute_url=self.settings.docker_host,
            timeout=180,
        )
        return deps.deploy(spec, settings=self.settings, workspace_url=self.ws)

    def undeploy(self, d: deps.Deployed) -> None:
        deps.undeploy(
            d.instance,
            container_id=d.container_id,
            compute_url=self.settings.docker_host,
            workspace_url=self.ws,
        )

    def route(self, name: str, weights: dict[deps.Deployed, int]) -> str:
        items = [
            {"name": d.name, "scoring_uri": d.scoring_uri, "weight": w} for d, w in weights.items()
        ]
        record = endpoints.apply_endpoint(
            name, endpoints.backends_from(items), settings=self.settings, workspace_url=self.ws
        )
        return record.scoring_uri


def window(url: str, clients: int, seconds: float, change: Callable[[], None] | None) -> Tally:
    """``clients`` kept-alive clients for ``seconds``; ``change`` runs after a
    third of the window (and the window lasts at least until it is done)."""
    with KeepAliveClients(url, clients) as load:
        time.sleep(seconds / 3)
        if change is not None:
            worker = threading.Thread(target=change)
            worker.start()
            worker.join()
        time.sleep(seconds * 2 / 3)
    return load.tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    base = Settings.from_env()
    work = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    settings = replace(
        base, registry=f"{base.registry.split('/')[0]}/bench-rollout", cache_dir=work / "cache"
    )
    ws = f"sqlite:///{work / 'ws.db'}"
    spec = envs.definition_from_inputs(
        {
            "name": "rollout",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": ["pyyaml==6.0.2"]}]}},
        }
    )
    env = envs.provision(envs.resolve(spec, settings), settings=settings, workspace_url=ws)
    (work / "model").mkdir()
    (work / "model" / "m.txt").write_text("1\n")
    model = models.register_model("m", work / "model", settings=settings, workspace_url=ws)
    rig = Rig(settings, ws, f"rollout:{env.version}", model.model.label, work)
    nonce = uuid.uuid4().hex[:6]
    blue, green = rig.deploy("blue", f"blue-{nonce}"), rig.deploy("green", f"green-{nonce}")
    name = f"rollout-{nonce}"
    url = rig.route(name, {blue: 100, green: 0})
    live: dict[str, deps.Deployed] = {"blue": blue, "green": green}

    def weights(b: int, g: int) -> Callable[[], None]:
        return lambda: (rig.route(name, {live["blue"]: b, live["green"]: g}), None)[1]

    def replace_green() -> None:
        old, live["green"] = live["green"], rig.deploy("green", f"green2-{nonce}")
        rig.route(name, {live["blue"]: 0, live["green"]: 100})
        rig.undeploy(old)

    def add_third() -> None:
        live["third"] = rig.deploy("third", f"third-{nonce}")
        rig.route(name, {live["blue"]: 0, live["green"]: 50, live["third"]: 50})

    def remove_third() -> None:
        rig.route(name, {live["blue"]: 0, live["green"]: 100})
        rig.undeploy(live.pop("third"))

    changes: list[tuple[str, Callable[[], None] | None]] = [
        ("no change", None),
        ("weights 100/0 -> 50/50", weights(50, 50)),
        ("weights 50/50 -> 0/100", weights(0, 100)),
        ("deployment replaced", replace_green),
        ("deployment added", add_third),
        ("deployment removed", remove_third),
    ]
    rows: list[tuple[str, Tally, Tally, float]] = []
    try:
        for label, change in changes:
            direct = window(live["green"].scoring_uri, args.clients, args.seconds, None)
            started = time.monotonic()
            through = window(url, args.clients, args.seconds, change)
            rows.append((label, through, direct, time.monotonic() - started))
    finally:
        endpoints.remove_endpoint(name, workspace_url=ws)
        for d in live.values():
            rig.undeploy(d)

    print(f"\n{args.clients} kept-alive clients; each window {args.seconds:g} s")
    print("(or until the change is done); direct: the same clients straight to a deployment.\n")
    print("| change                  | window s | requests | errors | p50 ms | p99 ms |"
          " direct p50 | direct p99 | direct errors |")  # fmt: skip
    print("|-------------------------|---------:|---------:|-------:|-------:|-------:|"
          "-----------:|-----------:|--------------:|")  # fmt: skip
    for label, t, d, secs in rows:
        print(
            f"| {label:23} | {secs:8.1f} | {t.requests:8} | {t.errors:6} | {t.p50 * 1e3:6.1f} |"
            f" {t.quantile(0.99) * 1e3:6.1f} | {d.p50 * 1e3:10.1f} | {d.quantile(0.99) * 1e3:10.1f}"
            f" | {d.errors:13} |"
        )
    failures = {k: v for _, t, _, _ in rows for k, v in t.failures.items()}
    if failures:
        print("\nfailures through the endpoint:", json.dumps(failures, indent=1))


if __name__ == "__main__":
    main()
