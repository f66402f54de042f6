"""imaging.compare: from two images' bytes to the layers, steps and paths
that differ (pure: tar layers made here in memory)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from typing import Any

from pulumi_mlenv.imaging.compare import (
    MAX_PATHS,
    compare_configs,
    compare_images,
    compare_layers,
    layer_entries,
    layer_steps,
)
from pulumi_mlenv.imaging.reproducible import STEP_MARK

File = tuple[str, bytes, int, int, int]  # path, data, mode, uid, mtime


def _layer(files: list[File], *, dirs: tuple[str, ...] = ()) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data, mode, uid, mtime in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.mtime = len(data), mode, uid, mtime
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def test_entries_of_a_gzip_layer() -> None:
    entries = layer_entries(_layer([("etc/marker", b"hi\n", 0o644, 0, 0)], dirs=("etc",)))
    assert sorted(entries) == ["/etc", "/etc/marker"]
    marker = entries["/etc/marker"]
    assert (marker.kind, marker.mode, marker.uid, marker.mtime) == ("file", 0o644, 0, 0)


def test_each_kind_of_difference_is_named() -> None:
    a = _layer(
        [
            ("same", b"x", 0o644, 0, 0),
            ("content", b"1", 0o644, 0, 0),
            ("mode", b"x", 0o644, 0, 0),
            ("owner", b"x", 0o644, 0, 0),
            ("time", b"x", 0o644, 0, 0),
            ("gone", b"x", 0o644, 0, 0),
        ]
    )
    b = _layer(
        [
            ("same", b"x", 0o644, 0, 0),
            ("content", b"2", 0o644, 0, 0),
            ("mode", b"x", 0o600, 0, 0),
            ("owner", b"x", 0o644, 1000, 0),
            ("time", b"x", 0o644, 0, 1764322800),
            ("new", b"x", 0o644, 0, 0),
        ]
    )
    diff = compare_layers(3, (_digest(a), a), (_digest(b), b), "RUN step")
    by_path = {p.path: p for p in diff.paths}
    assert sorted(by_path) == ["/content", "/gone", "/mode", "/new", "/owner", "/time"]
    assert by_path["/content"].fields == ("content",)
    assert by_path["/mode"].fields == ("mode",) and by_path["/mode"].rebuilt == "mode 600"
    assert by_path["/owner"].fields == ("owner",) and by_path["/owner"].rebuilt == "owner 1000:0"
    assert by_path["/time"].fields == ("mtime",)
    assert (by_path["/time"].recorded, by_path["/time"].rebuilt) == ("mtime 0", "mtime 1764322800")
    assert by_path["/gone"].fields == ("only in recorded",)
    assert by_path["/new"].fields == ("only in rebuilt",)
    assert diff.index == 3 and diff.step == "RUN step"


def test_the_reason_follows_what_differs() -> None:
    def reason(b_files: list[File]) -> str:
        a = _layer([("f", b"x", 0o644, 0, 0)])
        b = _layer(b_files)
        return compare_layers(0, (_digest(a), a), (_digest(b), b), "s").reason

    assert "current time" in reason([("f", b"y", 0o644, 0, 0)])
    assert "times that are not fixed" in reason([("f", b"x", 0o644, 0, 99)])
    assert "owner" in reason([("f", b"x", 0o644, 7, 0)])


def test_a_layer_that_rewrites_many_paths_is_cut_with_a_count() -> None:
    a = _layer([(f"f{i}", b"a", 0o644, 0, 0) for i in range(MAX_PATHS + 5)])
    b = _layer([(f"f{i}", b"b", 0o644, 0, 0) for i in range(MAX_PATHS + 5)])
    diff = compare_layers(0, (_digest(a), a), (_digest(b), b), "s")
    assert len(diff.paths) == MAX_PATHS and diff.more_paths == 5


def _image(layers: list[bytes], history: list[dict[str, Any]], **config: Any) -> Any:
    manifest = {"layers": [{"digest": _digest(blob)} for blob in layers]}
    return manifest, {"history": history, "config": config}


def test_images_name_the_differing_layer_and_its_step() -> None:
    base = _layer([("bin/sh", b"sh", 0o755, 0, 0)])
    fixed = _layer([("etc/fixed", b"fixed", 0o644, 0, 0)])
    clock_a = _layer([("built-at", b"1", 0o644, 0, 0)])
    clock_b = _layer([("built-at", b"2", 0o644, 0, 0)])
    history = [
        {"created_by": "base"},
        {"created_by": "ENV A=1", "empty_layer": True},
        {"created_by": f"RUN /bin/sh -c w {STEP_MARK} /bin/sh -c echo fixed > /etc/fixed"},
        {"created_by": f"RUN /bin/sh -c w {STEP_MARK} /bin/sh -c date > /built-at"},
    ]
    manifest_a, config_a = _image([base, fixed, clock_a], history, Labels={"k": "v"})
    manifest_b, config_b = _image([base, fixed, clock_b], history, Labels={"k": "v"})
    blobs = {_digest(x): x for x in (clock_a, clock_b)}
    result = compare_images(
        ("sha256:aa", manifest_a, config_a), ("sha256:bb", manifest_b, config_b), blobs
    )
    assert not result.identical
    [layer] = result.layers
    assert layer.index == 2 and layer.step == "RUN date > /built-at"
    assert [p.path for p in layer.paths] == ["/built-at"]
    assert result.config == ()  # only rootfs.diff_ids would differ, and the layer says it
    assert result.to_dict()["layers"][0]["paths"][0]["fields"] == ["content"]


def test_identical_images_read_no_layer() -> None:
    manifest, config = _image([b"not even a tar"], [{"created_by": "x"}])
    same = compare_images(("sha256:aa", manifest, config), ("sha256:aa", manifest, config), {})
    assert same.identical and same.layers == ()


def test_config_differences_are_named_one_level_deep() -> None:
    a = {"created": "1970-01-01T00:00:00Z", "config": {"Labels": {"a": "1"}, "Env": ["X=1"]}}
    b = {"created": "2026-11-28T09:00:00Z", "config": {"Labels": {"a": "2"}, "Env": ["X=1"]}}
    assert [d.field for d in compare_configs(a, b)] == ["config.Labels", "created"]


def test_layer_steps_skip_entries_without_a_layer() -> None:
    config = {
        "history": [
            {"created_by": "a"},
            {"created_by": "LABEL x", "empty_layer": True},
            {"created_by": "b"},
        ]
    }
    assert layer_steps(config) == ["a", "b"]


def test_a_package_layer_names_the_distributions_that_differ() -> None:
    site = "opt/mlenv/venv/lib/python3.11/site-packages"
    a = _layer(
        [
            (f"{site}/six.py", b"1", 0o644, 0, 0),
            (f"{site}/six-1.16.0.dist-info/RECORD", b"r", 0o644, 0, 0),
        ]
    )
    b = _layer(
        [
            (f"{site}/six.py", b"2", 0o644, 0, 0),
            (f"{site}/six-1.16.0.dist-info/RECORD", b"s", 0o644, 0, 0),
        ]
    )
    diff = compare_layers(4, (_digest(a), a), (_digest(b), b), "COPY /mlenv-layer/ / # buildkit")
    assert diff.step == "COPY /mlenv-layer/ / # buildkit (installs six)"
