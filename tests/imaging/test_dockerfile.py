"""The rendered Dockerfile (R10): pure text, checked line by line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.builder import index_text, requirements_text, secrets_of
from pulumi_mlenv.imaging.dockerfile import (
    BASE_STAGE,
    LOCK_PATH,
    PINNED_STAGE,
    RenderOptions,
    render,
    render_pin_step,
)
from pulumi_mlenv.imaging.layers import LayerGroup

BASE = "127.0.0.1:5000/mlenv/python@sha256:" + "a" * 64
OPTS = RenderOptions(
    base_ref=BASE, env_hash="f" * 64, labels=(("org.pulumi-mlenv.hash", "f" * 64),)
)


SYSTEM = parse_definition(
    {
        "name": "t",
        "python": {
            "conda": {
                "dependencies": [
                    "python=3.11",
                    {
                        "pip": [
                            "--extra-index-url https://user:s3cr3t-tok@pkgs.example/simple",
                            "six==1.16.0",
                            "idna",
                        ]
                    },
                ]
            }
        },
        "docker": {"steps": ["RUN echo one > /one", "ENV A=1"]},
    }
)
USER = parse_definition(
    {
        "name": "u",
        "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
        "docker": {"steps": ["RUN true"]},
    }
)


def test_system_managed_has_both_steps_in_order() -> None:
    text = render(SYSTEM, OPTS)
    lines = text.splitlines()
    order = [
        f"FROM {BASE} AS {BASE_STAGE}",
        "RUN echo one > /one",
        "ENV A=1",
        f"FROM {BASE_STAGE} AS mlenv-builder",
        "COPY --link --from=mlenv-builder /mlenv-out/ /",
    ]
    positions = [lines.index(line) for line in order]
    assert positions == sorted(positions)
    assert f"> {LOCK_PATH}" in text
    assert "--mount=type=cache,target=/root/.cache/uv" in text
    assert "uv venv --quiet --python python3.11 /opt/mlenv/venv" in text


def test_no_bytecode_and_fixed_mtimes_in_the_environment_layer() -> None:
    # .pyc files cost build time and image size (Python writes them lazily);
    # mtimes are fixed in the build so the exporter need not rewrite layers.
    text = render(SYSTEM, OPTS)
    assert "COMPILE_BYTECODE" not in text and "--compile" not in text
    assert "touch -h -d @$SOURCE_DATE_EPOCH" in text


@pytest.mark.parametrize(
    "needle",
    ["s3cr3t-tok", "pkgs.example", "six==1.16.0", "BEGIN CERTIFICATE"],
)
def test_secrets_and_requirements_stay_out_of_the_text(needle: str) -> None:
    assert needle not in render(SYSTEM, OPTS)


def test_requirements_secret_holds_options_then_packages() -> None:
    assert requirements_text(SYSTEM).splitlines() == [
        "--extra-index-url https://user:s3cr3t-tok@pkgs.example/simple",
        "six==1.16.0",
        "idna",
    ]
    assert "s3cr3t-tok" in secrets_of(SYSTEM)


def test_user_managed_skips_step_two_and_checks_the_interpreter() -> None:
    text = render(USER, OPTS)
    assert "mlenv-builder" not in text
    assert "uv " not in text
    assert "RUN test -x /usr/bin/python3 ||" in text
    assert text.index("RUN true") < text.index("RUN test -x")


def test_base_dockerfile_last_stage_becomes_the_base() -> None:
    spec = parse_definition(
        {
            "name": "d",
            "docker": {
                "base_dockerfile": (
                    "FROM debian:12 AS tools\nRUN x\nFROM debian:12 AS final\nRUN y\n"
                )
            },
            "python": {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}},
        }
    )
    lines = render(spec, OPTS).splitlines()
    assert "FROM debian:12 AS tools" in lines
    assert f"FROM debian:12 AS {BASE_STAGE}" in lines
    assert not any(BASE in line for line in lines)


def test_pip_installer_uses_pip_and_no_uv_context() -> None:
    text = render(SYSTEM, RenderOptions(base_ref=BASE, env_hash="f" * 64, installer="pip"))
    assert "-m pip install" in text
    assert "from=uv" not in text


def test_render_is_deterministic_and_labels_sorted() -> None:
    opts = RenderOptions(base_ref=BASE, env_hash="f" * 64, labels=(("b", "2"), ("a", '1"x')))
    text = render(SYSTEM, opts)
    assert text == render(SYSTEM, opts)
    assert text.index('LABEL a="1\\"x"') < text.index('LABEL b="2"')


LAYERED = replace(
    OPTS, layers=(LayerGroup("idna", ("idna==3.7",)), LayerGroup("six", ("six==1.16.0",)))
)


def test_layered_image_copies_the_venv_then_a_layer_per_distribution() -> None:
    lines = render(SYSTEM, LAYERED).splitlines()
    final = lines[lines.index(f"FROM {BASE_STAGE}") :]
    assert [line for line in final if line.startswith("COPY")] == [
        "COPY --link --from=mlenv-venv /mlenv-out/ /",
        "COPY --link --from=mlenv-pkg-idna /mlenv-layer/ /",
        "COPY --link --from=mlenv-pkg-six /mlenv-layer/ /",
        "COPY --link --from=mlenv-lockfile /mlenv-layer/ /",
    ]


@pytest.mark.parametrize(
    ("stage", "needle"),
    [
        ("mlenv-pkg-idna", "--no-deps"),
        ("mlenv-pkg-idna", "--prefix /mlenv-layer/opt/mlenv/venv -r /run/secrets/index idna==3.7"),
        ("mlenv-pkg-six", "six==1.16.0"),
        ("mlenv-lockfile", "idna==3.7 six==1.16.0"),
        ("mlenv-lockfile", f"/mlenv-layer{LOCK_PATH}"),
    ],
)
def test_layered_stage_installs_its_own_pins(stage: str, needle: str) -> None:
    text = render(SYSTEM, LAYERED)
    start = text.index(f" AS {stage}\n")
    body = text[start : text.index("\nFROM ", start)]
    assert needle in body
    # a package stage holds its own pins only, so other pins do not key it
    assert stage == "mlenv-lockfile" or body.count("==") == 1


def _with_index(option: str) -> str:
    spec = parse_definition(
        {
            "name": "t",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": [option, "six"]}]}},
        }
    )
    return render(spec, LAYERED)


@pytest.mark.parametrize(
    ("other", "same"),
    [
        ("--extra-index-url https://user:0ther-tok@pkgs.example/simple", True),
        ("--extra-index-url https://user:s3cr3t-tok@other.example/simple", False),
        ("--index-url https://user:s3cr3t-tok@pkgs.example/simple", False),
    ],
)
def test_package_stages_follow_the_index_not_its_token(other: str, same: bool) -> None:
    first = _with_index("--extra-index-url https://user:s3cr3t-tok@pkgs.example/simple")
    assert "s3cr3t-tok" not in first and "pkgs.example" not in first
    assert (_with_index(other) == first) is same
    assert index_text(SYSTEM).splitlines() == [
        "--extra-index-url https://user:s3cr3t-tok@pkgs.example/simple"
    ]


def test_resolve_build_shares_the_venv_stage_and_ends_in_the_lock() -> None:
    resolve = render_pin_step(SYSTEM, OPTS)
    image = render(SYSTEM, LAYERED)
    venv = resolve[resolve.index("FROM mlenv-base AS mlenv-venv") : resolve.index("\nMLENV\n")]
    assert venv in image
    assert "uv pip compile" in resolve and "/run/secrets/requirements" in resolve
    assert resolve.rstrip().endswith(
        f"FROM scratch AS {PINNED_STAGE}\nCOPY --from=mlenv-pin /mlenv-pinned.txt /lock.txt\n"
        f"COPY --from=mlenv-pin /{PINNED_STAGE}.python /python.txt"
    )
    assert "s3cr3t-tok" not in resolve
