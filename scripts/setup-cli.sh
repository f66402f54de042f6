#!/usr/bin/env bash
# `mlenv` from any shell, with nothing sourced: a symlink to this clone's
# .venv/bin/mlenv in $MLENV_BIN_DIR (default ~/.local/bin), and setup.json in
# the per-user state folder, where the CLI (config.py) reads the tools and
# daemons setup made when their variables are unset. Idempotent; the last
# clone to run setup owns the symlink. Remove it with `rm ~/.local/bin/mlenv`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bin_dir="${MLENV_BIN_DIR:-$HOME/.local/bin}"
target="$MLENV_ROOT/.venv/bin/mlenv"
link="$bin_dir/mlenv"
[ -x "$target" ] || die "no $target: run scripts/setup-python.sh first"

mkdir -p "$MLENV_SERVICES_STATE" "$bin_dir"
record="$(cat <<JSON
{
  "BUILDKIT_HOST": "$BUILDKIT_HOST",
  "DOCKER_HOST": "$DOCKER_HOST",
  "MLENV_REGISTRY": "$MLENV_REGISTRY",
  "MLENV_BASE_IMAGE": "$MLENV_BASE_IMAGE",
  "MLENV_BUILDCTL": "$MLENV_BUILDKIT_BIN/buildctl"
}
JSON
)"
if [ "$(cat "$MLENV_SERVICES_STATE/setup.json" 2>/dev/null)" != "$record" ]; then
  tmp="$(mktemp "$MLENV_SERVICES_STATE/.setup.json.XXXXXX")"
  printf '%s\n' "$record" > "$tmp"
  mv -f "$tmp" "$MLENV_SERVICES_STATE/setup.json"
fi

if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then
  say "cli: $link -> $target"
elif [ -e "$link" ] && [ ! -L "$link" ]; then
  say "cli: $link is not ours (left alone); run $target, or remove it and rerun setup"
else
  previous="$(readlink "$link" 2>/dev/null || true)"
  ln -sfn "$target" "$link"
  say "cli: $link -> $target${previous:+ (was $previous)}; remove with: rm $link"
fi
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "cli: $bin_dir is not on PATH; add it: export PATH=\"$bin_dir:\$PATH\"" ;;
esac
