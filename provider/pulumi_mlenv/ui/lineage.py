"""The lineage picture: environment versions -> runs -> models ->
deployments -> endpoints, as nodes and edges laid out in columns (pure: the
SVG template draws what ``build`` returns).

A model points at the run it came from, or straight at its environment
version when it was registered without a run; a deployment at its model
(or its environment); an endpoint at the deployments it sends traffic to,
with their shares. ``focus`` keeps one node with what it came from and what
came from it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from pulumi_mlenv.service.browse import Snapshot
from pulumi_mlenv.ui.views import short, traffic_of, version_key

__all__ = ["COLUMNS", "Edge", "Graph", "Node", "build"]

#: Column titles, left to right.
COLUMNS = ("environment versions", "runs", "models", "deployments", "endpoints")
#: Nodes drawn per column at most (the newest runs first); the rest are counted.
MAX_PER_COLUMN = 40
WIDTH, HEIGHT, GAP_X, GAP_Y, TOP, LEFT = 200, 46, 70, 14, 40, 10
LABEL_CHARS = 24


@dataclass(frozen=True, slots=True)
class Node:
    """One box: ``id`` (``run:3f2a...``), its column, what it says, where it
    links, a ``tone`` for its colour (``ok``, ``bad``, ``idle``), and its
    place once laid out."""

    id: str
    column: int
    label: str
    detail: str
    href: str
    tone: str = ""
    title: str = ""
    x: int = 0
    y: int = 0

    @property
    def shown(self) -> str:
        """The label as drawn (long ones cut; the title has it whole)."""
        if len(self.label) <= LABEL_CHARS:
            return self.label
        return self.label[: LABEL_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str = ""
    path: str = ""
    label_x: int = 0
    label_y: int = 0


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int
    hidden: dict[int, int] = field(default_factory=dict)

    def column_x(self, column: int) -> int:
        return LEFT + column * (WIDTH + GAP_X)

    @property
    def columns(self) -> list[tuple[int, str]]:
        return list(enumerate(COLUMNS))


def _seg(text: str) -> str:
    return quote(text, safe="")


def _tone(status: str) -> str:
    return {"completed": "ok", "healthy": "ok", "failed": "bad", "unhealthy": "bad"}.get(
        status, "idle" if status in ("archived", "cancelled") else ""
    )


def _nodes_and_edges(snapshot: Snapshot) -> tuple[dict[str, Node], list[Edge]]:
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []

    def env_node(name: str | None, version: str | None) -> str | None:
        if not name or not version:
            return None
        key = f"env:{name}:{version}"
        if key not in nodes:  # a version this workspace does not list (another workspace's)
            nodes[key] = Node(key, 0, f"{name}:{version}", "not in this workspace", "", "idle")
        return key

    for v in sorted(snapshot.versions, key=lambda v: (v.name, version_key(v.version))):
        nodes[f"env:{v.label}"] = Node(
            f"env:{v.label}", 0, v.label, f"hash {short(v.env_hash)} · {v.status}",
            f"/environments/{_seg(v.name)}/{_seg(v.version)}", _tone(v.status), v.label,
        )  # fmt: skip
    for r in snapshot.runs:
        key = f"run:{r.id}"
        nodes[key] = Node(
            key, 1, f"run {r.id[:8]}", f"{r.status.value} · {r.script}",
            f"/runs/{_seg(r.id)}", _tone(r.status.value), f"run {r.id}: {r.script} on {r.compute}",
        )  # fmt: skip
        env = env_node(r.env_name, r.env_version)
        if env:
            edges.append(Edge(env, key))
    for m in snapshot.models:
        key = f"model:{m.label}"
        nodes[key] = Node(
            key, 2, m.label, f"content {short(m.content_hash)}",
            f"/models/{_seg(m.name)}/{_seg(m.version)}", "", m.label,
        )  # fmt: skip
        run = f"run:{m.lineage.run_id}"
        source = run if run in nodes else env_node(m.lineage.env_name, m.lineage.env_version)
        if source:
            edges.append(Edge(source, key))
    for d in snapshot.deployments:
        key = f"deploy:{d.instance}"
        nodes[key] = Node(
            key, 3, d.name, f"{d.status} · port {d.port}",
            f"/deployments#{_seg(d.instance)}", _tone(d.status), f"{d.name} ({d.instance})",
        )  # fmt: skip
        model = f"model:{d.model_name}:{d.model_version}"
        source = model if model in nodes else env_node(d.env_name, d.env_version)
        if source:
            edges.append(Edge(source, key))
    for e in snapshot.endpoints:
        key = f"endpoint:{e.name}"
        nodes[key] = Node(
            key, 4, e.name, f"port {e.port}", f"/deployments#endpoint-{_seg(e.name)}", "", e.name
        )
        for share in traffic_of(e, snapshot.deployments):
            if share.deployment is not None:
                label = f"{share.percent:g}%"
                edges.append(Edge(f"deploy:{share.deployment.instance}", key, label))
    return nodes, edges


def _focused(nodes: dict[str, Node], edges: list[Edge], focus: str) -> set[str]:
    """``focus``, everything it came from and everything that came from it."""
    forward: dict[str, list[str]] = defaultdict(list)
    backward: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        forward[e.source].append(e.target)
        backward[e.target].append(e.source)
    keep = {focus}
    for links in (forward, backward):
        queue = deque([focus])
        while queue:
            for nxt in links[queue.popleft()]:
                if nxt not in keep:
                    keep.add(nxt)
                    queue.append(nxt)
    return keep & set(nodes)


def _curve(a: Node, b: Node) -> str:
    x1, y1 = a.x + WIDTH, a.y + HEIGHT // 2
    x2, y2 = b.x, b.y + HEIGHT // 2
    bend = max(30, (x2 - x1) // 2)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


def build(snapshot: Snapshot, focus: str | None = None) -> Graph:
    """The picture of ``snapshot`` (only ``focus``'s lineage when given;
    an unknown focus gives an empty picture)."""
    nodes, edges = _nodes_and_edges(snapshot)
    if focus is not None:
        keep = _focused(nodes, edges, focus) if focus in nodes else set()
        nodes = {k: n for k, n in nodes.items() if k in keep}
    parents: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        parents[e.target].append(e.source)
    placed: dict[str, Node] = {}
    rank: dict[str, int] = {}
    hidden: dict[int, int] = {}
    for column in range(len(COLUMNS)):
        members = [n for n in nodes.values() if n.column == column]  # in snapshot order
        order = {n.id: i for i, n in enumerate(members)}
        if len(members) > MAX_PER_COLUMN:
            hidden[column] = len(members) - MAX_PER_COLUMN
            members = members[:MAX_PER_COLUMN]

        def key(node: Node, order: dict[str, int] = order) -> tuple[float, int]:
            # Next to what it came from: fewer crossing lines.
            seen = [rank[p] for p in parents[node.id] if p in rank]
            return (sum(seen) / len(seen) if seen else -1.0, order[node.id])

        for i, node in enumerate(sorted(members, key=key) if column else members):
            rank[node.id] = i
            placed[node.id] = replace(
                node, x=LEFT + column * (WIDTH + GAP_X), y=TOP + i * (HEIGHT + GAP_Y)
            )
    drawn = [
        replace(
            e,
            path=_curve(placed[e.source], placed[e.target]),
            # A share is written where it leaves its deployment: one per box.
            label_x=placed[e.source].x + WIDTH + 6,
            label_y=placed[e.source].y + HEIGHT // 2 - 4,
        )
        for e in edges
        if e.source in placed and e.target in placed
    ]
    rows = max((sum(1 for n in placed.values() if n.column == c) for c in range(5)), default=0)
    return Graph(
        nodes=tuple(placed.values()),
        edges=tuple(drawn),
        width=LEFT * 2 + len(COLUMNS) * WIDTH + (len(COLUMNS) - 1) * GAP_X,
        height=TOP + max(rows, 1) * (HEIGHT + GAP_Y) + 10,
        hidden=hidden,
    )
