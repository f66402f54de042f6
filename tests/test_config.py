"""Settings from any shell: an unset variable falls back to what `make setup`
recorded (setup.json in the per-user state folder), and the CLI, the make
recipes and Pulumi programs share one default workspace."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_mlenv.config import Settings, buildctl_override, setup_record


def _state(tmp_path: Path, record: object) -> dict[str, str]:
    state = tmp_path / "state"
    state.mkdir()
    (state / "setup.json").write_text(json.dumps(record))
    return {"HOME": str(tmp_path), "MLENV_SERVICES_STATE": str(state)}


def test_unset_variables_take_what_setup_recorded(tmp_path: Path) -> None:
    env = _state(
        tmp_path,
        {
            "BUILDKIT_HOST": "tcp://127.0.0.1:1234",
            "MLENV_REGISTRY": "127.0.0.1:5999",
            "MLENV_BUILDCTL": "/opt/bk/buildctl",
            "MLENV_WORKSPACE": "sqlite:////elsewhere.db",  # not a key setup records
        },
    )
    settings = Settings.from_env(env)
    assert settings.buildkit_host == "tcp://127.0.0.1:1234"
    assert settings.registry == "127.0.0.1:5999"
    assert settings.workspace_url == f"sqlite:///{tmp_path / 'state' / 'workspace.db'}"
    assert buildctl_override(env)[0] == "/opt/bk/buildctl"
    mine = Settings.from_env({**env, "MLENV_REGISTRY": "127.0.0.1:6000", "MLENV_CA_BUNDLE": ""})
    assert mine.registry == "127.0.0.1:6000"  # a variable that is set wins
    assert mine.ca_bundle is None  # empty still turns the bundle off


def test_without_setup_json_the_defaults_apply(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "xdg")}
    assert setup_record(env) == {}
    settings = Settings.from_env(env)
    assert settings.buildkit_host == "unix:///run/pulumi-mlenv/buildkitd.sock"
    assert (
        settings.workspace_url == f"sqlite:///{tmp_path / 'xdg' / 'pulumi-mlenv' / 'workspace.db'}"
    )
    assert setup_record(_state(tmp_path, ["not", "a", "mapping"])) == {}


def test_env_sh_and_config_name_the_same_default_workspace() -> None:
    env_sh = (Path(__file__).resolve().parents[1] / "scripts" / "env.sh").read_text()
    assert (
        'MLENV_WORKSPACE="${MLENV_WORKSPACE:-sqlite:///$MLENV_SERVICES_STATE/workspace.db}"'
        in env_sh
    )
