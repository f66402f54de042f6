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
  # Two workers: each module's tests (and every Spark test) stay in one
  # worker (tests/conftest.py), the rest run side by side; every daemon a
  # test starts listens on a port the OS gave it.
  say "pytest: docker, engine and browser tier (the daemons setup started; Chromium), two workers"
  pytest -m "docker or engine or browser" -n "${MLENV_ENGINE_WORKERS:-2}" --dist loadgroup "$@"
fi
