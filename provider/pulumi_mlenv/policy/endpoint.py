"""What a change to an ``Endpoint`` means, and why, in words (pure).

An endpoint is a stable address: its name and port are what it is (a change
replaces it), as is a proxy a refresh found stopped. New weights or new
deployments behind it are an update: the proxy reloads gracefully and no
deployment restarts. Moving the workspace record is an update too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.policy.unknown import is_unknown

__all__ = ["EndpointDecision", "decide_endpoint", "traffic_drift"]


@dataclass(frozen=True, slots=True)
class EndpointDecision:
    """``replaces``: the inputs that replace the endpoint; ``changes``: any
    change at all (an update when nothing replaces); ``reasons``: one line
    per thing the preview says."""

    replaces: tuple[str, ...]
    changes: bool
    reasons: tuple[str, ...]


def _weights(items: Any) -> dict[str, Any]:
    """Weights by deployment name (Pulumi hands numbers over as floats: 90.0 is 90)."""
    return {
        str(i.get("name")): int(w)
        if isinstance(w := i.get("weight"), float) and w.is_integer()
        else w
        for i in items or []
        if isinstance(i, Mapping)
    }


def _addresses(items: Any) -> dict[str, str]:
    return {
        str(i.get("name")): str(i.get("scoring_uri", "")).removeprefix("http://").split("/")[0]
        for i in items or []
        if isinstance(i, Mapping)
    }


def decide_endpoint(olds: Mapping[str, Any], news: Mapping[str, Any]) -> EndpointDecision:
    """Replace, update or nothing, for an endpoint's old and new inputs."""
    replaces = [k for k in ("name", "port") if olds.get(k) != news.get(k)]
    reasons: list[str] = []
    if olds.get("status") == "stopped":
        replaces.append("status")
        reasons.append("replace: the proxy is not running (found by refresh)")
    changed = olds.get("deployments") != news.get("deployments")
    if changed and not is_unknown(news.get("deployments")):
        old, new = _weights(olds.get("deployments")), _weights(news.get("deployments"))
        words = [
            f"{k} {old.get(k, 'absent')} -> {new.get(k, 'removed')}"
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        ]
        old_at, new_at = _addresses(olds.get("deployments")), _addresses(news.get("deployments"))
        words += [
            f"{k} now at {new_at[k]} (was {old_at[k]})"
            for k in sorted(set(old_at) & set(new_at))
            if old_at[k] != new_at[k]
        ]
        reasons.append(f"update: traffic {', '.join(words)} (proxy reload, no restart)")
    changed = changed or olds.get("workspace") != news.get("workspace")
    return EndpointDecision(tuple(replaces), bool(replaces) or changed, tuple(reasons))


def traffic_drift(live: Mapping[str, int] | None, deployments: Any) -> str | None:
    """What a preview says when the workspace's weights (``live``: set by
    ``mlenv endpoint traffic``, say) differ from the program's; None when
    they agree or are not known. An update sets the program's again."""
    if live is None or is_unknown(deployments):
        return None
    wanted = _weights(deployments)
    if dict(live) == wanted:
        return None
    words = [
        f"{k} {live.get(k, 'absent')} -> {wanted.get(k, 'removed')}"
        for k in sorted(set(live) | set(wanted))
        if live.get(k) != wanted.get(k)
    ]
    return f"update: traffic changed outside Pulumi; back to the program's: {', '.join(words)}"
