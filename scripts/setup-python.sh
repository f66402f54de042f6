#!/usr/bin/env bash
# The project's virtualenv with the package installed editable and its test
# extras. Reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
stamp=".venv/.mlenv-installed"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(sha256sum pyproject.toml | cut -c1-64)" = "$(cat "$stamp")" ]; then
  say "python: .venv is up to date"
  exit 0
fi
command -v python3 >/dev/null || die "python3 (3.11 or newer) is needed: apt-get install python3 python3-venv"
[ -x .venv/bin/python ] || { say "python: creating .venv"; python3 -m venv .venv; }
[ -x .venv/bin/uv ] || { say "python: installing uv"; .venv/bin/python -m pip install -q uv; }
say "python: installing pulumi-mlenv (editable) with test extras"
.venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -e '.[test]'
sha256sum pyproject.toml | cut -c1-64 > "$stamp"
