#!/usr/bin/env bash
# `make test`: lint, type-check, then the whole test suite (engine, Docker,
# BuildKit and registry included: setup has started them).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
say "ruff"
ruff check provider tests benchmarks examples
ruff format --check provider tests benchmarks examples
say "mypy"
mypy
say "pytest"
pytest "$@"
