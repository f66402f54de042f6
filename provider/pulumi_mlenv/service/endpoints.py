"""Use cases of endpoints: a stable address in front of one or more
deployments, with traffic weights, served by a real HAProxy
(``compute.proxy``). Changing the weights or the deployments behind it
reloads the proxy gracefully; no deployment restarts.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.compute.proxy import MAX_WEIGHT, Backend
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import EngineError, MlenvError, Problem, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.port_reservation import IN_USE_FIX, pick_port, port_lock
from pulumi_mlenv.workspace.serving_store import EndpointRecord

__all__ = [
    "EndpointState",
    "apply_endpoint",
    "backends_from",
    "check_endpoint",
    "endpoint_state",
    "invoke",
    "list_endpoints",
    "live_weights",
    "remove_endpoint",
]


@dataclass(frozen=True, slots=True)
class EndpointState:
    """``scoring_uri``, ``port`` and whether the proxy answers (``running``)."""

    name: str
    scoring_uri: str
    port: int
    running: bool


def backends_from(items: Sequence[Mapping[str, object]]) -> tuple[Backend, ...]:
    """Backends from ``[{"name", "scoring_uri", "weight"}]`` (the resource's
    shape); ``SpecError`` naming ``deployments`` for anything unusable."""
    problems: list[Problem] = []
    out: list[Backend] = []
    for i, item in enumerate(items):
        where = f"deployments[{i}]"
        name, uri, weight = item.get("name"), item.get("scoring_uri"), item.get("weight")
        address = str(uri or "").removeprefix("http://").split("/", 1)[0]
        if not name or not address or ":" not in address:
            problems.append(Problem(where, f"no deployment address in {item!r}"))
            continue
        # Pulumi passes numbers as floats: 90.0 is 90.
        if isinstance(weight, float) and weight.is_integer():
            weight = int(weight)
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= MAX_WEIGHT:
            problems.append(
                Problem(
                    where,
                    f"weight {weight!r} of {name} is not a whole number from 0 to {MAX_WEIGHT}",
                    "give weights such as 90 and 10",
                )
            )
            continue
        out.append(Backend(str(name), address, weight))
    if not items:
        problems.append(Problem("deployments", "an endpoint needs at least one deployment"))
    elif not problems and sum(b.weight for b in out) == 0:
        problems.append(
            Problem("deployments", "every weight is 0: no deployment would get traffic")
        )
    if problems:
        raise SpecError(problems)
    return tuple(out)


def check_endpoint(
    items: Sequence[Mapping[str, object]],
    *,
    port: int | None,
    check_port: bool,
    outside: Outside | None = None,
) -> list[Problem]:
    """Every problem with an endpoint's inputs; nothing is started."""
    problems: list[Problem] = []
    try:
        backends_from(items)
    except SpecError as err:
        problems += err.problems
    if port is not None and check_port and outside_or_real(outside).tcp.in_use(port):
        problems.append(
            Problem(
                "port",
                f"port {port} on 127.0.0.1 is already in use",
                IN_USE_FIX,
            )
        )
    return problems


def _home(settings: Settings, name: str, workspace_url: str) -> Path:
    """The proxy's folder: one per endpoint name *and* workspace (two
    workspaces may each have an endpoint called ``scoring``)."""
    import hashlib

    tag = hashlib.sha256(workspace_url.encode()).hexdigest()[:8]
    return Path(settings.cache_dir).expanduser() / "endpoints" / f"{name}-{tag}"


def apply_endpoint(
    name: str,
    backends: tuple[Backend, ...],
    *,
    settings: Settings,
    workspace_url: str,
    port: int | None = None,
    outside: Outside | None = None,
) -> EndpointRecord:
    """Start the endpoint's proxy, or reload it with new backends and weights
    (gracefully: in-flight requests finish, none is refused). The port stays
    the one the endpoint has; a new endpoint gets ``port`` or a free one."""
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        current = store.get_endpoint(name)
        if current is not None and (port is None or port == current.port):
            proxy = io.proxy(Path(current.home), current.port)
            proxy.reload(backends)
            return store.put_endpoint(
                EndpointRecord(
                    name=name, port=current.port, backends=_rows(backends), home=current.home
                )
            )
        with port_lock(settings):
            chosen = pick_port(port, store.used_ports(), io, f"endpoint {name}")
            home = _home(settings, name, workspace_url)
            record = store.put_endpoint(
                EndpointRecord(name=name, port=chosen, backends=_rows(backends), home=str(home))
            )
        try:
            io.proxy(home, chosen).start(backends)
        except MlenvError:
            store.delete_endpoint(name)
            raise
        return record


def _rows(backends: tuple[Backend, ...]) -> tuple[tuple[str, str, int], ...]:
    return tuple((b.name, b.address, b.weight) for b in backends)


def endpoint_state(
    name: str, *, workspace_url: str, outside: Outside | None = None
) -> EndpointState | None:
    """The endpoint's address and whether its proxy answers; None when unknown."""
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        record = store.get_endpoint(name)
    if record is None:
        return None
    proxy = io.proxy(Path(record.home), record.port)
    running = proxy.master_pid() is not None and proxy.serving() is not None
    return EndpointState(name, record.scoring_uri, record.port, running)


def remove_endpoint(name: str, *, workspace_url: str, outside: Outside | None = None) -> bool:
    """Stop the proxy, remove its folder and forget the endpoint (its port
    is free again)."""
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        record = store.get_endpoint(name)
        if record is None:
            return False
        io.proxy(Path(record.home), record.port).stop()
        home = Path(record.home)
        # Only a folder that is a proxy's (never whatever a record might name).
        if (home / "haproxy.cfg").exists():
            shutil.rmtree(home, ignore_errors=True)
        store.delete_endpoint(name)
    return True


def live_weights(
    name: str, *, workspace_url: str, outside: Outside | None = None
) -> dict[str, int] | None:
    """The weights the workspace records for endpoint ``name`` (whoever set
    them: a Pulumi update or ``mlenv endpoint traffic``); None when unknown
    or the workspace cannot be read."""
    try:
        with outside_or_real(outside).serving(workspace_url) as store:
            record = store.get_endpoint(name)
    except MlenvError:
        return None
    return None if record is None else {n: w for n, _, w in record.backends}


def list_endpoints(*, workspace_url: str, outside: Outside | None = None) -> list[EndpointRecord]:
    """Every endpoint the workspace records."""
    with outside_or_real(outside).serving(workspace_url) as store:
        return store.list_endpoints()


def invoke(
    name: str,
    data: bytes,
    *,
    workspace_url: str,
    timeout: float = 60.0,
    outside: Outside | None = None,
) -> tuple[int, str]:
    """POST ``data`` (JSON) to the endpoint's ``/score``; ``(status, body)``."""
    io = outside_or_real(outside)
    with io.serving(workspace_url) as store:
        record = store.get_endpoint(name)
    if record is None:
        raise MlenvError(f"no endpoint {name} in the workspace")
    try:
        return io.http.post_json(record.scoring_uri, data, timeout=timeout)
    except EngineError as err:
        raise EngineError(f"endpoint {name} at {err}") from None
