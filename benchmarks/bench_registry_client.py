"""Is our own OCI registry client needed? The one question every use case
asks a registry, "which digest does this tag point to?" (reuse by hash, a
base tag resolved), timed against the peers that could answer it, one
client per operation as the product makes them, interleaved (ours, peer,
ours...) so a busier machine weighs on all alike:

- ``requests`` raw: one ``HEAD`` by hand, the floor;
- ``python-dxf``: ``DXF.get_digest`` (a ``HEAD`` too; it asks for Docker
  schema 2 only, so for an OCI image it names another digest: "same" says);
- ``oras``: ``Registry.get_manifest`` (a ``GET``: it has no ``HEAD``), hashed;
- the Docker SDK: ``inspect_distribution`` (the engine asks the registry).

Beside speed, the table says which of the product's other questions each
answers (absent vs unknown, referrers, hold tags, deletion, token auth).
Needs the local registry of ``make setup`` and ``pip install oras python-dxf``
(in the test extra).

    python benchmarks/bench_registry_client.py [--runs 200] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable

import requests

from pulumi_mlenv.registry import RegistryClient

HOST = "127.0.0.1:5000"


def _a_tag() -> tuple[str, str]:
    for repo in requests.get(f"http://{HOST}/v2/_catalog", timeout=10).json()["repositories"]:
        tags = requests.get(f"http://{HOST}/v2/{repo}/tags/list", timeout=10).json().get("tags")
        if tags:
            return repo, tags[0]
    raise SystemExit(f"no tagged image in {HOST}: run make setup (or any build) first")


def ours(repo: str, tag: str) -> str | None:
    with RegistryClient(HOST) as client:
        return client.digest_of(repo, tag)


def raw(repo: str, tag: str) -> str | None:
    accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
    accept += ", application/vnd.docker.distribution.manifest.v2+json"
    with requests.Session() as s:
        r = s.head(f"http://{HOST}/v2/{repo}/manifests/{tag}", headers={"Accept": accept})
        return r.headers.get("Docker-Content-Digest")


def dxf(repo: str, tag: str) -> str | None:
    from dxf import DXF

    return str(DXF(HOST, repo, insecure=True).get_digest(tag))


def oras(repo: str, tag: str) -> str | None:
    import oras.provider

    registry = oras.provider.Registry(HOST, insecure=True)
    body = registry.get_manifest(f"{HOST}/{repo}:{tag}")
    return "sha256:" + hashlib.sha256(repr(body).encode()).hexdigest()  # a GET, parsed


def docker_sdk(repo: str, tag: str) -> str | None:
    import docker

    client = docker.from_env()
    try:
        return str(client.api.inspect_distribution(f"{HOST}/{repo}:{tag}")["Descriptor"]["digest"])
    finally:
        client.close()


PEERS: dict[str, Callable[[str, str], str | None]] = {
    "requests raw HEAD": raw,
    "python-dxf": dxf,
    "oras": oras,
    "docker SDK (engine asks)": docker_sdk,
}
#: What else the product asks a registry, and who answers it.
COVERS = {
    "ours": "absent/unknown apart, details, referrers + fallback tag, holds, delete, token",
    "requests raw HEAD": "nothing but what is written by hand (that is our client)",
    "python-dxf": "token auth, delete; no referrers, 404 and 5xx both raise",
    "oras": "token auth, push/pull; no HEAD, no referrers index, no absent vs unknown",
    "docker SDK (engine asks)": "digest only, through the engine; nothing else without a pull",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 runs")
    args = parser.parse_args()
    runs = 20 if args.quick else args.runs
    repo, tag = _a_tag()
    expect = ours(repo, tag)
    agrees = {"ours": "yes"}
    for name, peer in PEERS.items():  # warm (imports, connections) and compare
        agrees[name] = "n/a" if name == "oras" else ("yes" if peer(repo, tag) == expect else "NO")
    times: dict[str, list[float]] = {"ours": [], **{name: [] for name in PEERS}}
    for _ in range(runs):
        for name, fn in [("ours", ours), *PEERS.items()]:
            start = time.perf_counter()
            fn(repo, tag)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["ours"])
    print(f"digest of {HOST}/{repo}:{tag[:12]}..., {runs} interleaved runs, one client each")
    print(f"{'client':26} {'median ms':>10} {'min-max ms':>16} {'vs ours':>8} {'same':>5}  covers")
    for name, values in times.items():
        med = statistics.median(values)
        spread = f"{min(values) * 1e3:.1f}-{max(values) * 1e3:.1f}"
        row = f"{name:26} {med * 1e3:10.2f} {spread:>16} {med / base:7.2f}x {agrees[name]:>5}"
        print(f"{row}  {COVERS[name]}")


if __name__ == "__main__":
    main()
