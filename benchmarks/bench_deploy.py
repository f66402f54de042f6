"""Serving a model: the cost of the endpoint's proxy, of running in a
container, and of a second deployment, each measured side by side in one run
against its baseline. The model and environment are examples/train-and-serve's
(scikit-learn, every package pinned).

  (a) p50 latency through the endpoint / straight to the server   (aim <= 1.2)
  (b) p99 latency through the endpoint / straight to the server   (aim <= 1.2)
  (c) requests/s of the deployed service / azmlinfsrv run on the host in the
      environment's virtualenv, same script and model            (aim >= 0.9)
  (d) builds during the second deployment of the same environment and model
      (aim 0), and its up time / the first one's (reported: the rest is the
      server's start, the same for both)

1,000 requests per measurement at concurrency 8, in 8 interleaved rounds
(server, endpoint, server, endpoint, ...) so that the machine's load drifts
alike for both. The first deployment's scoring script carries a
fresh nonce so that its inference image is really built (the server layer may
come from BuildKit's cache; the code layer is new).

Run: ``source scripts/env.sh && python benchmarks/bench_deploy.py``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from pulumi_mlenv.compute.health import wait_until_live
from pulumi_mlenv.compute.tcp_ports import allocate_port
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import load_definition, parse_definition, to_dict
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints, materialize_local, models
from pulumi_mlenv.service import environments as envs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "train-and-serve"
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'


@dataclass(frozen=True)
class Load:
    """Latencies (seconds) and throughput of one batch of requests."""

    latencies: tuple[float, ...]
    seconds: float
    failed: int

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def __add__(self, other: Load) -> Load:
        return Load(
            self.latencies + other.latencies,
            self.seconds + other.seconds,
            self.failed + other.failed,
        )


def load(url: str, n: int, concurrency: int) -> Load:
    def one(_: int) -> float | None:
        started = time.perf_counter()
        try:
            resp = requests.post(
                url, data=BODY, headers={"Content-Type": "application/json"}, timeout=60
            )
        except requests.RequestException:
            return None
        return time.perf_counter() - started if resp.status_code == 200 else None

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    seconds = time.perf_counter() - started
    ok = tuple(r for r in results if r is not None)
    return Load(ok, seconds, n - len(ok))


def _host_server(
    env_yml: Path, settings: Settings, model_dir: str, code: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """azmlinfsrv in a host virtualenv of the environment plus the server."""
    spec = load_definition(str(env_yml))
    data = to_dict(spec)
    data["python"]["conda"]["dependencies"][-1]["pip"].append(settings.inference_server)
    venv = materialize_local(parse_definition(data), settings)
    port = allocate_port()
    proc = subprocess.Popen(
        [str(venv / "bin" / "azmlinfsrv"), "--entry_script", "score.py", "--port", str(port)],
        cwd=code,
        env={**os.environ, "AZUREML_MODEL_DIR": model_dir, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    outcome = wait_until_live(
        f"http://127.0.0.1:{port}/", timeout=120, still_running=lambda: proc.poll() is None
    )
    if outcome != "live":
        proc.kill()
        raise SystemExit(f"azmlinfsrv on the host did not start ({outcome})")
    return proc, f"http://127.0.0.1:{port}/score"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    base = Settings.from_env()
    settings = replace(base, registry=f"{base.registry.split('/')[0]}/bench-deploy")
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    ws = f"sqlite:///{work / 'ws.db'}"

    resolved = envs.resolve(load_definition(str(EXAMPLE / "environment.yml")), settings)
    env = envs.provision(resolved, settings=settings, workspace_url=ws)
    venv = materialize_local(resolved.spec, settings)
    subprocess.run(
        [str(venv / "bin" / "python"), str(EXAMPLE / "train.py"), str(work / "outputs")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    lineage = models.lineage_of_environment(
        env_name := resolved.spec.name, env.version, workspace_url=ws
    )
    model = models.register_model(
        "iris", work / "outputs" / "model.pkl", settings=settings, workspace_url=ws, lineage=lineage
    ).model
    code = work / "code"
    code.mkdir()
    nonce = uuid.uuid4().hex
    (code / "score.py").write_text(
        (EXAMPLE / "score.py").read_text() + f"\n# bench run {nonce}: a code layer of its own\n"
    )
    spec = deps.DeploymentSpec(
        name="bench",
        model=model.label,
        environment=f"{env_name}:{env.version}",
        entry_script=str(code / "score.py"),
        compute_url=settings.docker_host,
        timeout=300,
    )
    first = deps.deploy(spec, settings=settings, workspace_url=ws)
    second = deps.deploy(spec, settings=settings, workspace_url=ws)
    endpoint = endpoints.apply_endpoint(
        f"bench-{nonce[:8]}",
        endpoints.backends_from([{"name": "bench", "scoring_uri": first.scoring_uri, "weight": 1}]),
        settings=settings,
        workspace_url=ws,
    )
    host, host_uri = _host_server(EXAMPLE / "environment.yml", settings, model.uri, code)
    try:
        c, rounds = args.concurrency, 8
        n = args.requests // rounds
        load(first.scoring_uri, 50, c), load(endpoint.scoring_uri, 50, c), load(host_uri, 50, c)
        direct = proxied = on_host = in_container = Load((), 0.0, 0)
        for _ in range(rounds):  # interleaved: the machine's load drifts alike for both
            direct += load(first.scoring_uri, n, c)
            proxied += load(endpoint.scoring_uri, n, c)
        for _ in range(rounds):
            on_host += load(host_uri, n, c)
            in_container += load(first.scoring_uri, n, c)
    finally:
        host.terminate()
        host.wait()
        endpoints.remove_endpoint(endpoint.name, workspace_url=ws)
        for d in (first, second):
            deps.undeploy(
                d.instance,
                container_id=d.container_id,
                compute_url=settings.docker_host,
                workspace_url=ws,
            )

    failed = direct.failed + proxied.failed + on_host.failed + in_container.failed
    ms = 1000.0
    rows = [
        ("(a) p50 endpoint / server", proxied.p50 * ms, direct.p50 * ms, "ms", "<= 1.2"),
        ("(b) p99 endpoint / server", proxied.p99 * ms, direct.p99 * ms, "ms", "<= 1.2"),
        ("(c) req/s container / host venv", in_container.rps, on_host.rps, "req/s", ">= 0.9"),
        ("(d) second up / first up", second.seconds, first.seconds, "s", "report"),
    ]
    print(f"\n{args.requests} requests per measurement, concurrency {c}; failed requests: {failed}")
    print(f"first up: inference image built={first.built} ({first.build_seconds:.1f} s build)")
    print(f"second up: builds={int(second.built)} (aim 0)\n")
    print(f"| {'measure':34} | {'ours':>9} | {'baseline':>9} | unit  | {'ratio':>6} | aim    |")
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 11}|-------|{'-' * 8}|--------|")
    for name, ours, baseline, unit, aim in rows:
        ratio = ours / baseline
        print(f"| {name:34} | {ours:9.2f} | {baseline:9.2f} | {unit:5} | {ratio:6.2f} | {aim:6} |")


if __name__ == "__main__":
    main()
