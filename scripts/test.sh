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
say "pytest: fast tier (no daemons), on every core"
pytest -m "not docker and not engine and not browser" -n auto "$@"
if [ "${MLENV_FAST_ONLY:-0}" != 1 ]; then
  say "pytest: docker, engine and browser tier (the daemons setup started; Chromium)"
  pytest -m "docker or engine or browser" "$@"
fi
