"""An environment's variables as the workspace keeps them: plain values as
they are, a secret one (a reference, or a credential's name) as a reference
that a run resolves from its caller's environment, or fails naming it."""

from __future__ import annotations

import pytest

from pulumi_mlenv.definition.variables import WITHHELD, is_secret_name, kept, resolved
from pulumi_mlenv.errors import MlenvError


@pytest.mark.parametrize("name", ["API_TOKEN", "HF_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                                  "OPENAI_API_KEY", "github_auth"])  # fmt: skip
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["GREETING", "OMP_NUM_THREADS", "MODE", "KEYBOARD_LAYOUT"])
def test_other_names_are_not(name: str) -> None:
    assert not is_secret_name(name)


def test_kept_keeps_values_and_references_secrets() -> None:
    stored = kept([("MODE", "fast"), ("HF_TOKEN", "hf_abc"), ("KEY", "${env:MY_KEY}")])
    assert stored == (("HF_TOKEN", "${env:HF_TOKEN}"), ("KEY", "${env:MY_KEY}"), ("MODE", "fast"))


def test_resolved_reads_references_from_the_environment() -> None:
    pairs = (("HF_TOKEN", "${env:HF_TOKEN}"), ("MODE", "fast"), ("OLD", WITHHELD))
    got = resolved(pairs, {"HF_TOKEN": "hf_abc", "OLD": "x"}, "train:1")
    assert got == (("HF_TOKEN", "hf_abc"), ("MODE", "fast"), ("OLD", "x"))


def test_an_unresolvable_secret_is_named_with_the_way_to_supply_it() -> None:
    with pytest.raises(MlenvError) as err:
        resolved((("HF_TOKEN", "${env:HF_TOKEN}"),), {}, "train:1")
    assert str(err.value) == (
        "environment train:1: variable HF_TOKEN is a secret kept as a reference to $HF_TOKEN, "
        "which is not set here: export HF_TOKEN=... before running "
        "(its value is never stored in the workspace)"
    )
