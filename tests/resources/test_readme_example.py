"""The README's ten-line example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import make_stack

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_goes_up(machine: dict[str, str], tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code, "README.md has no python example"
    project = tmp_path / "readme"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: readme-example\nruntime: python\n")
    (project / "__main__.py").write_text(code.group(1))
    backend = tmp_path / "backend"
    backend.mkdir()
    stack = make_stack(project, f"file://{backend}", {})
    image = stack.up().outputs["image"].value
    assert re.fullmatch(r"127\.0\.0\.1:5000/mlenv/env@sha256:[0-9a-f]{64}", image)
    assert set(stack.preview().change_summary) == {"same"}
    stack.destroy()
