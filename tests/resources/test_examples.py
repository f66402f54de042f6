"""Every example under examples/ goes up on the real engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Program


def _outputs(program: Program) -> dict[str, Any]:
    result = program.stack.up(on_output=program.output.append)
    return {k: v.value for k, v in result.outputs.items()}


def test_quickstart_is_r15(example: Callable[[str], Program]) -> None:
    program = example("quickstart")
    out = _outputs(program)
    hashes, images, built = out["hashes"], out["images"], out["built"]
    assert hashes["train"] == hashes["experiments"] != hashes["scoring"]
    assert images["train"] == images["experiments"] != images["scoring"]
    assert out["shared_image"] is True
    assert sum(built.values()) == 2
    assert out["versions"] == {"train": "1", "experiments": "7", "scoring": "1"}
    assert set(program.stack.preview().change_summary) == {"same"}
    program.stack.destroy()


def test_from_files_reads_each_format_as_it_is(example: Callable[[str], Program]) -> None:
    program = example("from-files")
    out = _outputs(program)
    assert out["conda"]["name"] == "feature-engineering"
    assert out["pip"]["name"] == "scoring-requirements"
    assert (out["azureml-v2"]["name"], out["azureml-v2"]["version"]) == ("sklearn-inference", "4")
    assert (out["azureml-v1"]["name"], out["azureml-v1"]["version"]) == ("legacy-training", "3")
    assert len({env["hash"] for env in out.values()}) == 4
    assert all("@sha256:" in env["image"] for env in out.values())
    program.stack.destroy()


def test_a_changed_curated_environment_is_not_curated(example: Callable[[str], Program]) -> None:
    program = example("curated")
    out = _outputs(program)
    assert out["curated"]["kind"] == "curated"
    assert out["custom"]["kind"] == "system-managed"
    assert out["curated"]["hash"] != out["custom"]["hash"]
    program.stack.destroy()
