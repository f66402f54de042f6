# Sourced by every script and by the Makefile's recipes: where things live.
# Everything made by setup is either in the clone's ignored folders (.venv,
# .state: this clone's Pulumi backend), in the per-user cache
# shared by every clone (built tools), or in the per-user state folder
# (machine-wide services: registry storage, BuildKit config, PostgreSQL, the
# default workspace, setup.json for the CLI),
# which no clone owns: deleting a clone loses none of it.
# shellcheck shell=bash
MLENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MLENV_ROOT
export MLENV_CACHE_DIR="${MLENV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-mlenv}"
export MLENV_STATE="${MLENV_STATE:-$MLENV_ROOT/.state}"
export MLENV_SERVICES_STATE="${MLENV_SERVICES_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/pulumi-mlenv}"

# Versions: keep tools/*/go.mod and pyproject.toml in step with these.
export PULUMI_CLI_VERSION="v3.274.1"     # pkg/v3 v3.272.0 (the SDK's) is not served
export PULUMI_LANGHOST_SDK_VERSION="v3.52.0"
export BUILDKIT_VERSION="v0.34.2"
export MLENV_PULUMI_BIN="$MLENV_CACHE_DIR/pulumi/$PULUMI_CLI_VERSION"
export MLENV_BUILDKIT_BIN="$MLENV_CACHE_DIR/buildkit/$BUILDKIT_VERSION"

# The project's virtualenv first on PATH: the language host and the dynamic
# provider launcher run whatever `python` comes first (pulumi-notes.md).
export VIRTUAL_ENV="$MLENV_ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$MLENV_PULUMI_BIN:$MLENV_BUILDKIT_BIN:$PATH"

# Pulumi: local file backend, no update checks, no plugin downloads.
export PULUMI_HOME="${PULUMI_HOME:-$MLENV_STATE/pulumi-home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$MLENV_STATE/pulumi-backend}"
# A documented development passphrase for the local `dev` stack only. It
# protects nothing real: use a secret manager for real stacks.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-mlenv-dev-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_CONFIRMATIONS=true

# Engines and registry (override any of them to use your own).
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
export BUILDKIT_HOST="${BUILDKIT_HOST:-unix:///run/pulumi-mlenv/buildkitd.sock}"
export MLENV_REGISTRY="${MLENV_REGISTRY:-127.0.0.1:5000}"
export MLENV_BASE_IMAGE="${MLENV_BASE_IMAGE:-127.0.0.1:5000/mlenv/python:3.11-bookworm}"
# The one default workspace of this user: the CLI from any shell, the make
# recipes and Pulumi programs all use it (config.py has the same default).
export MLENV_WORKSPACE="${MLENV_WORKSPACE:-sqlite:///$MLENV_SERVICES_STATE/workspace.db}"
# Debian's 20.10 client does BuildKit builds; the one on PATH may have no buildx.
export MLENV_DOCKER_CLI="${MLENV_DOCKER_CLI:-$(command -v /usr/bin/docker || command -v docker || true)}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }
