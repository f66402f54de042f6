"""Reading buildctl's plain progress and installers' error output."""

from __future__ import annotations

import pytest

from pulumi_mlenv.imaging.buildkit import failed_package, parse_progress_line


@pytest.mark.parametrize(
    ("log", "package"),
    [
        (
            "  ╰─▶ Because nonexistent-pkg-zz was not found in the package registry and you",
            "nonexistent-pkg-zz",
        ),
        ("  ╰─▶ Because there is no version of six==99.0 and you require six==99.0", "six==99.0"),
        ("ERROR: Could not find a version that satisfies the requirement six==99 (from", "six==99"),
        ("ERROR: No matching distribution found for six==99", "six==99"),
        ("  × Failed to build `broken-pkg==1.0`", "broken-pkg==1.0"),
        ("some unrelated failure", None),
    ],
)
def test_failed_package(log: str, package: str | None) -> None:
    assert failed_package(log) == package


def test_progress_lines_become_events() -> None:
    names: dict[int, str] = {}
    started = parse_progress_line("#7 [mlenv-builder 1/1] RUN --mount=x uv pip install", names)
    assert started is not None and started.status == "started" and started.number == 7
    done = parse_progress_line("#7 DONE 12.5s", names)
    assert done is not None and done.status == "done" and done.seconds == 12.5
    assert done.name.startswith("[mlenv-builder 1/1] RUN")
    cached = parse_progress_line("#5 CACHED", names)
    assert cached is not None and cached.status == "cached"
    assert parse_progress_line("#7 0.325 Resolved 2 packages in 124ms", names) is None
    export = parse_progress_line("#11 exporting to image", names)
    assert export is not None and export.name == "exporting to image"
