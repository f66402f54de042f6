"""The conda step 2 (R10): rendered text, checked line by line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.conda import (
    CONDA_STAGE,
    conda_create_command,
    find_missing_tool_message,
    missing_tool_message,
    render_conda,
)
from pulumi_mlenv.imaging.dockerfile import BASE_STAGE, LOCK_STAGE, RenderOptions, render

BASE = "127.0.0.1:5000/mlenv/python@sha256:" + "a" * 64
OPTS = RenderOptions(base_ref=BASE, env_hash="f" * 64, labels=(("org.pulumi-mlenv.hash", "h"),))
TOKEN_INDEX = "--extra-index-url https://user:s3cr3t-tok@pkgs.example/simple"


def _spec(channels: list[str], deps: list[Any], steps: tuple[str, ...] = ()) -> Any:
    data: dict[str, Any] = {
        "name": "c",
        "python": {"conda": {"channels": channels, "dependencies": deps}},
    }
    if steps:
        data["docker"] = {"steps": list(steps)}
    return parse_definition(data)


CONDA = _spec(
    ["conda-forge", "bioconda"],
    ["python=3.11", "numpy=1.26", "samtools", {"pip": [TOKEN_INDEX, "six==1.16.0"]}],
    steps=("RUN echo one > /one",),
)


@pytest.mark.parametrize(
    ("channels", "deps", "expected"),
    [
        (
            ["conda-forge", "bioconda"],
            ["python=3.11", "numpy=1.26", "samtools"],
            "-c conda-forge -c bioconda --strict-channel-priority python=3.11 numpy=1.26 samtools",
        ),
        # the written order, not sorted
        (
            ["b", "a"],
            ["zlib", "python=3.11"],
            "-c b -c a --strict-channel-priority zlib python=3.11",
        ),
        # no channel: conda-forge; no python: python first (a Python environment)
        ([], ["numpy"], "-c conda-forge --strict-channel-priority python numpy"),
        # a spec with a space is one argument
        (["conda-forge"], ["python 3.11.*", "numpy"], "'python 3.11.*' numpy"),
    ],
)
def test_create_command_keeps_channels_and_dependencies_as_declared(
    channels: list[str], deps: list[str], expected: str
) -> None:
    command = conda_create_command(_spec(channels, deps))
    assert command.startswith(
        '"$tool" create --yes --quiet --prefix /opt/mlenv/venv --override-channels '
    )
    assert command.endswith(expected)


def test_the_probe_is_the_first_command_of_step_two() -> None:
    lines = render_conda(CONDA, OPTS).splitlines()
    stage = lines.index(f"FROM {BASE_STAGE} AS {CONDA_STAGE}")
    probe = next(i for i, line in enumerate(lines) if line.startswith("RUN for t in micromamba"))
    install = next(i for i, line in enumerate(lines) if line.startswith("RUN --mount="))
    assert lines.index("RUN echo one > /one") < stage < probe < install
    assert not any(line.startswith("RUN") for line in lines[stage:probe])
    # micromamba before conda; no mount (no download, no secret) in the probe
    assert lines[probe].index("micromamba") < lines[probe].index(" conda ")
    assert "--mount" not in lines[probe]
    assert "need conda or micromamba in the base image" in lines[probe]


def test_install_step_mounts_the_ca_a_package_cache_and_installs_pip_into_the_env() -> None:
    text = render_conda(CONDA, OPTS)
    assert "--mount=type=cache,target=/root/.cache/mlenv-conda/pkgs,id=mlenv-conda" in text
    assert "--mount=type=secret,id=ca" in text
    for var in ("CONDA_SSL_VERIFY", "MAMBA_SSL_VERIFY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        assert f"{var}=/run/secrets/ca" in text
    assert "uv pip install --python /opt/mlenv/venv/bin/python -r /run/secrets/requirements" in text
    assert '"$tool" list --prefix /opt/mlenv/venv --json | /opt/mlenv/venv/bin/python' in text
    assert "> /opt/mlenv/lock.txt" in text


def test_pip_installer_uses_the_environments_pip_and_no_uv() -> None:
    text = render_conda(CONDA, replace(OPTS, installer="pip"))
    assert "from=uv" not in text and "uv pip" not in text
    assert "/opt/mlenv/venv/bin/python -m pip install --no-compile" in text


def test_image_layout_matches_the_uv_path() -> None:
    conda = render_conda(CONDA, OPTS).splitlines()
    plain = render(_spec([], ["python=3.11", {"pip": ["six==1.16.0"]}]), OPTS).splitlines()
    env = "ENV VIRTUAL_ENV=/opt/mlenv/venv PATH=/opt/mlenv/venv/bin:$PATH"
    assert env in conda and env in plain
    assert f"COPY --link --from={CONDA_STAGE} /mlenv-out/ /" in conda
    assert f"FROM scratch AS {LOCK_STAGE}" in conda
    assert conda[-1] == 'LABEL org.pulumi-mlenv.hash="h"'


@pytest.mark.parametrize("needle", ["s3cr3t-tok", "pkgs.example", "six==1.16.0"])
def test_pip_requirements_and_tokens_stay_out_of_the_text(needle: str) -> None:
    assert needle not in render_conda(CONDA, OPTS)


def test_render_is_deterministic() -> None:
    assert render_conda(CONDA, OPTS) == render_conda(CONDA, OPTS)


def test_missing_tool_message_names_the_packages_and_the_fix() -> None:
    assert missing_tool_message(CONDA) == (
        "mlenv: conda packages numpy=1.26, samtools need conda or micromamba in the base"
        " image (none found on PATH); use a base image with micromamba, or move them to"
        " the pip list"
    )


MESSAGE = missing_tool_message(CONDA)


@pytest.mark.parametrize(
    ("log", "found"),
    [
        (f"#7 [mlenv-conda 2/3] RUN for t in micromamba\n#7 0.104 {MESSAGE}\n#7 ERROR: x", MESSAGE),
        # the failing command echoes the message quoted: that is not the output
        (f"ERROR: process \"/bin/sh -c ... echo '{MESSAGE}' >&2; exit 1\" did not", None),
        ("#9 1.2 error: No solution found", None),
        ("", None),
    ],
)
def test_the_probe_message_is_found_in_the_log(log: str, found: str | None) -> None:
    assert find_missing_tool_message(log) == found


def test_a_base_dockerfile_and_custom_steps_come_before_the_probe() -> None:
    spec = parse_definition(
        {
            "name": "d",
            "docker": {
                "base_dockerfile": "FROM mambaorg/micromamba:1.5 AS tools\nRUN y\n",
                "steps": ["RUN echo two > /two"],
            },
            "python": {"conda": {"dependencies": ["python=3.11", "numpy"]}},
        }
    )
    lines = render_conda(spec, OPTS).splitlines()
    assert (
        lines.index(f"FROM mambaorg/micromamba:1.5 AS {BASE_STAGE}")
        < lines.index("RUN echo two > /two")
        < lines.index(f"FROM {BASE_STAGE} AS {CONDA_STAGE}")
    )
