"""Small builders shared by the spec tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def definition(
    *,
    name: str = "churn",
    pip: list[str] | None = None,
    conda: list[str] | None = None,
    channels: list[str] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """Our YAML mapping for a system-managed definition with a pip list."""
    deps: list[Any] = list(conda if conda is not None else ["python=3.11", "pip"])
    if pip is not None:
        deps.append({"pip": list(pip)})
    data: dict[str, Any] = {
        "name": name,
        "python": {"conda": {"channels": channels or ["conda-forge"], "dependencies": deps}},
    }
    data.update(top)
    return data
