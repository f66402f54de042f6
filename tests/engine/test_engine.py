"""The Pulumi engine built by setup runs a Python dynamic resource end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

from pulumi import automation as auto

PROGRAM = Path(__file__).parent / "programs" / "echo"


def _stack(pulumi_backend: str, tmp_path: Path) -> auto.Stack:
    # Each test gets its own copy: a stack's config file lives beside the
    # program, and two workers sharing one would race on `value`.
    work_dir = tmp_path / "echo"
    shutil.copytree(PROGRAM, work_dir)
    return auto.create_or_select_stack(
        stack_name="dev",
        work_dir=str(work_dir),
        opts=auto.LocalWorkspaceOptions(
            env_vars={"PULUMI_BACKEND_URL": pulumi_backend},
        ),
    )


def test_preview_then_up_then_up_again_changes_nothing(pulumi_backend: str, tmp_path: Path) -> None:
    stack = _stack(pulumi_backend, tmp_path)
    stack.set_config("value", auto.ConfigValue("21"))

    preview = stack.preview()
    assert preview.change_summary.get("create") == 2  # the stack and the resource

    first = stack.up()
    assert first.outputs["doubled"].value == 42
    assert first.summary.resource_changes == {"create": 2}

    second = stack.up()
    assert second.summary.resource_changes == {"same": 2}
    assert second.outputs["doubled"].value == 42


def test_changed_input_previews_as_replace(pulumi_backend: str, tmp_path: Path) -> None:
    stack = _stack(pulumi_backend, tmp_path)
    stack.set_config("value", auto.ConfigValue("1"))
    stack.up()
    stack.set_config("value", auto.ConfigValue("5"))
    preview = stack.preview(diff=True)
    assert preview.change_summary.get("replace") == 1
    assert stack.up().outputs["doubled"].value == 10
