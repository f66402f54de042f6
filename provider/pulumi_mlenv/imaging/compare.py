"""Compare two images made from one definition: which layers differ, then
which paths inside them, and how (content, mode, owner, time). Pure: JSON
documents and layer bytes in, a comparison out; nothing here talks to a
registry.

Layers are matched by position (the same definition gives the same steps in
the same order); a layer's step is its entry in the config's history (the
entries that made a layer, in order). A path that differs in content while
its time and owner are fixed points at a step that does not do the same
thing twice (a download that changes, a random value, the current time);
a path that differs only in time at a step whose times were not fixed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_mlenv.imaging.reproducible import user_command

__all__ = [
    "ConfigDifference",
    "Entry",
    "ImageComparison",
    "LayerDifference",
    "PathDifference",
    "compare_configs",
    "compare_images",
    "compare_layers",
    "layer_entries",
    "layer_steps",
]

#: Differences listed per layer at most (a step that rewrites a whole tree
#: would otherwise print thousands of lines); the count says how many more.
MAX_PATHS = 50


@dataclass(frozen=True, slots=True)
class Entry:
    """One tar entry, reduced to what makes a layer's bytes: ``kind`` is the
    tar type (``file``, ``dir``, ``symlink``, ``hardlink``, ``other``),
    ``content`` a digest of the data (or the link target)."""

    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    mtime: float
    content: str


@dataclass(frozen=True, slots=True)
class PathDifference:
    """A path of one layer that differs between the two images: ``fields``
    names what differs (``content``, ``mode``, ``owner``, ``mtime``, ``kind``,
    ``only in recorded``, ``only in rebuilt``); ``recorded``/``rebuilt`` say
    the values, e.g. ``mtime 0`` / ``mtime 1764322800``."""

    path: str
    fields: tuple[str, ...]
    recorded: str
    rebuilt: str


@dataclass(frozen=True, slots=True)
class LayerDifference:
    """One layer position whose blobs differ, with the step that made it."""

    index: int
    recorded: str | None
    rebuilt: str | None
    step: str
    paths: tuple[PathDifference, ...] = ()
    more_paths: int = 0
    #: Why the step is not reproducible, in words, when the paths say it.
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "recorded": self.recorded,
            "rebuilt": self.rebuilt,
            "step": self.step,
            "reason": self.reason,
            "paths": [
                {"path": p.path, "fields": list(p.fields), "recorded": p.recorded,
                 "rebuilt": p.rebuilt}
                for p in self.paths
            ],
            "more_paths": self.more_paths,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConfigDifference:
    """A field of the image configuration that differs (``created``,
    ``config.Labels``, ``history``...), with both values as JSON text."""

    field: str
    recorded: str
    rebuilt: str


@dataclass(frozen=True, slots=True)
class ImageComparison:
    """The whole answer: ``identical`` only when the manifest digests match."""

    recorded_digest: str
    rebuilt_digest: str
    layers: tuple[LayerDifference, ...] = ()
    config: tuple[ConfigDifference, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def identical(self) -> bool:
        return self.recorded_digest == self.rebuilt_digest

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "recorded_digest": self.recorded_digest,
            "rebuilt_digest": self.rebuilt_digest,
            "layers": [layer.to_dict() for layer in self.layers],
            "config": [
                {"field": c.field, "recorded": c.recorded, "rebuilt": c.rebuilt}
                for c in self.config
            ],
            "notes": list(self.notes),
        }


def _decompress(blob: bytes) -> bytes:
    if blob[:2] == b"\x1f\x8b":
        return gzip.decompress(blob)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        raise ValueError("a zstd layer (this Python cannot read zstd): compare with gzip layers")
    try:
        return zlib.decompress(blob)
    except zlib.error:
        return blob  # an uncompressed tar


_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
}


def layer_entries(blob: bytes) -> dict[str, Entry]:
    """The entries of a layer blob (gzip or plain tar), by path."""
    out: dict[str, Entry] = {}
    with tarfile.open(fileobj=io.BytesIO(_decompress(blob)), mode="r:") as tar:
        for info in tar:
            kind = _KINDS.get(info.type, "other")
            if kind == "file":
                data = tar.extractfile(info)
                digest = hashlib.sha256(data.read() if data else b"").hexdigest()[:16]
            else:
                digest = info.linkname
            path = "/" + info.name.lstrip("./").rstrip("/")
            out[path] = Entry(path, kind, info.mode, info.uid, info.gid, info.mtime, digest)
    return out


def _show(entry: Entry, fields: Sequence[str]) -> str:
    parts = []
    for name in fields:
        if name == "content":
            parts.append(f"content {entry.content or '-'}")
        elif name == "mode":
            parts.append(f"mode {entry.mode:o}")
        elif name == "owner":
            parts.append(f"owner {entry.uid}:{entry.gid}")
        elif name == "mtime":
            parts.append(f"mtime {int(entry.mtime)}")
        elif name == "kind":
            parts.append(entry.kind)
    return ", ".join(parts)


def _path_differences(a: Mapping[str, Entry], b: Mapping[str, Entry]) -> Iterator[PathDifference]:
    for path in sorted(set(a) | set(b)):
        left, right = a.get(path), b.get(path)
        if left is None and right is not None:
            yield PathDifference(path, ("only in rebuilt",), "-", _show(right, ("kind",)))
            continue
        if right is None and left is not None:
            yield PathDifference(path, ("only in recorded",), _show(left, ("kind",)), "-")
            continue
        assert left is not None and right is not None
        fields = [
            name
            for name, differs in (
                ("kind", left.kind != right.kind),
                ("content", left.content != right.content),
                ("mode", left.mode != right.mode),
                ("owner", (left.uid, left.gid) != (right.uid, right.gid)),
                ("mtime", int(left.mtime) != int(right.mtime)),
            )
            if differs
        ]
        if fields:
            yield PathDifference(path, tuple(fields), _show(left, fields), _show(right, fields))


def _reason(paths: Sequence[PathDifference]) -> str:
    fields = {f for p in paths for f in p.fields}
    if "content" in fields or fields & {"only in recorded", "only in rebuilt"}:
        return (
            "the step does not write the same files twice: it downloads something that"
            " changes, or writes a random value or the current time"
        )
    if fields == {"mtime"}:
        return "the step leaves file times that are not fixed (COPY/ADD keep their sources' times)"
    if "owner" in fields:
        return "the step gives files an owner that depends on the machine (user names, id maps)"
    if "mode" in fields:
        return "the step sets file modes that depend on the machine (umask)"
    return ""


def _packages(paths: Sequence[PathDifference]) -> list[str]:
    """Distributions whose files differ (``.../site-packages/<name>/...``)."""
    found: set[str] = set()
    for diff in paths:
        _, sep, rest = diff.path.partition("/site-packages/")
        top = rest.split("/", 1)[0] if sep else ""
        if top and not top.startswith(("_", ".")):
            found.add(
                top.split("-", 1)[0] if top.endswith(".dist-info") else top.removesuffix(".py")
            )
    return sorted(found)


def compare_layers(
    index: int,
    recorded: tuple[str, bytes | None],
    rebuilt: tuple[str, bytes | None],
    step: str,
) -> LayerDifference:
    """The difference at layer ``index``: ``(digest, blob)`` of each side
    (blob None when it could not be read, e.g. only one side has the layer)."""
    (digest_a, blob_a), (digest_b, blob_b) = recorded, rebuilt
    if blob_a is None or blob_b is None:
        return LayerDifference(index, digest_a or None, digest_b or None, step)
    diffs = list(_path_differences(layer_entries(blob_a), layer_entries(blob_b)))
    if not diffs:
        reason = "same files, other bytes (compression or tar headers differ: another BuildKit?)"
    else:
        reason = _reason(diffs)
    packages = _packages(diffs)
    if packages and "/mlenv-" in step:  # one of our package stages: name what it installed
        step = f"{step} (installs {', '.join(packages)})"
    return LayerDifference(
        index,
        digest_a,
        digest_b,
        step,
        tuple(diffs[:MAX_PATHS]),
        max(0, len(diffs) - MAX_PATHS),
        reason,
    )


def layer_steps(config: Mapping[str, Any]) -> list[str]:
    """For each layer of an image, the step that made it (its history entry's
    command, without our time-fixing wrapper); ``?`` when the history is short."""
    out = []
    for entry in config.get("history") or []:
        if isinstance(entry, dict) and not entry.get("empty_layer"):
            out.append(user_command(str(entry.get("created_by", "?"))))
    return out


def compare_configs(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ConfigDifference]:
    """Top-level config fields that differ (``config`` and ``rootfs`` one level
    deeper, so that a label or an environment variable is named)."""
    out: list[ConfigDifference] = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if isinstance(va, dict) and isinstance(vb, dict) and key in ("config", "rootfs"):
            for sub in sorted(set(va) | set(vb)):
                if va.get(sub) != vb.get(sub):
                    out.append(ConfigDifference(f"{key}.{sub}", _js(va.get(sub)), _js(vb.get(sub))))
        elif key == "history" and isinstance(va, list) and isinstance(vb, list):
            for i in range(max(len(va), len(vb))):
                ea = va[i] if i < len(va) else None
                eb = vb[i] if i < len(vb) else None
                if ea != eb:
                    out.append(ConfigDifference(f"history[{i}]", _js(ea), _js(eb)))
        else:
            out.append(ConfigDifference(key, _js(va), _js(vb)))
    return out


def _js(value: Any) -> str:
    return json.dumps(value, sort_keys=True)[:300]


def compare_images(
    recorded: tuple[str, Mapping[str, Any], Mapping[str, Any]],
    rebuilt: tuple[str, Mapping[str, Any], Mapping[str, Any]],
    blobs: Mapping[str, bytes],
) -> ImageComparison:
    """Compare two images, each ``(manifest digest, manifest, config)``;
    ``blobs`` holds the layer blobs by digest (those of differing layers are
    enough). Layers that match are not read."""
    digest_a, manifest_a, config_a = recorded
    digest_b, manifest_b, config_b = rebuilt
    if digest_a == digest_b:
        return ImageComparison(digest_a, digest_b)
    layers_a = [str(x.get("digest")) for x in manifest_a.get("layers") or []]
    layers_b = [str(x.get("digest")) for x in manifest_b.get("layers") or []]
    steps = layer_steps(config_a)
    notes: list[str] = []
    if len(layers_a) != len(layers_b):
        notes.append(f"the images have {len(layers_a)} and {len(layers_b)} layers")
    layers: list[LayerDifference] = []
    for i in range(max(len(layers_a), len(layers_b))):
        a = layers_a[i] if i < len(layers_a) else ""
        b = layers_b[i] if i < len(layers_b) else ""
        if a == b:
            continue
        step = steps[i] if i < len(steps) else "?"
        layers.append(compare_layers(i, (a, blobs.get(a)), (b, blobs.get(b)), step))
    config = compare_configs(config_a, config_b)
    # diff_ids follow the layers: named above already.
    config = [c for c in config if c.field != "rootfs.diff_ids" or not layers]
    return ImageComparison(digest_a, digest_b, tuple(layers), tuple(config), tuple(notes))
