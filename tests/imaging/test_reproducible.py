"""imaging.reproducible: every RUN of a stage fixes the times of what it
changed, by text (pure; the builds are in tests/test_reproducible.py)."""

from __future__ import annotations

import json

import pytest

from pulumi_mlenv.imaging.reproducible import (
    STEP_MARK,
    fix_step_times,
    instructions,
    needs_rewrite_timestamp,
    user_command,
)


def _shells(lines: list[str]) -> list[list[str]]:
    return [json.loads(line[len("SHELL ") :]) for line in lines if line.startswith("SHELL ")]


def test_a_stage_without_run_is_left_as_written() -> None:
    lines = ["FROM base@sha256:00 AS mlenv-base", "ENV A=1", "WORKDIR /app"]
    assert fix_step_times(lines) == lines


def test_shell_form_runs_keep_their_text_and_run_under_the_wrapper() -> None:
    lines = ["FROM base AS mlenv-base", "RUN echo hi > /etc/marker", "RUN apt-get update \\\n && x"]
    out = fix_step_times(lines)
    assert out[0] == lines[0]
    assert "RUN echo hi > /etc/marker" in out
    assert "RUN apt-get update \\" in out and " && x" in out
    wrapper, restore = _shells(out)
    assert wrapper[:2] == ["/bin/sh", "-c"] and wrapper[3:] == [STEP_MARK, "/bin/sh", "-c"]
    assert "touch -h -d @0" in wrapper[2] and "find / -xdev -newer" in wrapper[2]
    assert restore == ["/bin/sh", "-c"]  # the image keeps a plain shell
    assert out[-1] == 'SHELL ["/bin/sh", "-c"]'


def test_the_wrapper_uses_the_given_epoch() -> None:
    out = fix_step_times(["FROM b", "RUN true"], epoch=1700000000)
    assert "touch -h -d @1700000000" in _shells(out)[0][2]


def test_exec_form_run_is_wrapped_in_json() -> None:
    out = fix_step_times(["FROM b", 'RUN --network=none ["/usr/bin/env", "A=1", "true"]'])
    run = next(line for line in out if line.startswith("RUN "))
    assert run.startswith("RUN --network=none [")
    argv = json.loads(run[len("RUN --network=none ") :])
    assert argv[:2] == ["/bin/sh", "-c"] and argv[3:] == [STEP_MARK, "/usr/bin/env", "A=1", "true"]


def test_a_user_shell_is_wrapped_and_restored_and_inherited_by_later_stages() -> None:
    lines = [
        "FROM b AS one",
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
        "RUN echo | cat",
        "FROM one AS two",
        "RUN echo again",
    ]
    out = fix_step_times(lines)
    shells = _shells(out)
    bash = ["/bin/bash", "-o", "pipefail", "-c"]
    assert shells[1][3:] == [STEP_MARK, *bash]  # the user's SHELL, wrapped
    assert shells[2] == bash  # restored at the end of ``one``
    assert shells[3][3:] == [STEP_MARK, *bash]  # ``two`` inherits bash
    assert shells[4] == bash


def test_heredocs_are_one_instruction_and_kept() -> None:
    text = "RUN <<EOF\nset -e\nFROM looks like an instruction\nEOF"
    items = instructions(["FROM b", text, "RUN <<-END\n\tx\n\tEND", "ENV A=1"])
    assert [i.keyword for i in items] == ["FROM", "RUN", "RUN", "ENV"]
    out = fix_step_times(["FROM b", text])
    assert "\n".join(out).count("FROM") == 2  # the heredoc's line is not a stage
    assert "FROM looks like an instruction" in out


def test_global_args_and_comments_before_the_first_stage_stay() -> None:
    out = fix_step_times(["# syntax note", "ARG V=1", "FROM b:$V", "RUN true"])
    assert out[:3] == ["# syntax note", "ARG V=1", "FROM b:$V"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["FROM b", "RUN true"], False),
        (["FROM b", "COPY --from=x /a /b"], True),
        (["FROM b", "add https://example.org/x /x"], True),
        (["FROM b", "RUN <<EOF\nCOPY is just text here\nEOF"], False),
    ],
)
def test_copy_and_add_need_the_exporters_clamp(lines: list[str], expected: bool) -> None:
    assert needs_rewrite_timestamp(lines) is expected


@pytest.mark.parametrize(
    ("created_by", "shown"),
    [
        (f"RUN /bin/sh -c m=... {STEP_MARK} /bin/sh -c date > /x # buildkit",
         "RUN date > /x # buildkit"),
        (f"RUN /bin/sh -c m=... {STEP_MARK} /bin/bash -c echo hi", "RUN echo hi"),
        (f"RUN /bin/sh -c m=... {STEP_MARK} /usr/bin/env true", "RUN /usr/bin/env true"),
        ("COPY /mlenv-out/ / # buildkit", "COPY /mlenv-out/ / # buildkit"),
    ],
)  # fmt: skip
def test_history_entries_show_the_users_command(created_by: str, shown: str) -> None:
    assert user_command(created_by) == shown
