#!/usr/bin/env bash
# Sets up whatever is missing, in order, and reuses whatever is there.
# Each step prints what it does; a second run takes seconds.
set -euo pipefail
here="$(dirname "$0")"
source "$here/env.sh"
start=$SECONDS
# One setup at a time per machine: two clones (or CI jobs) starting together
# would build the same toolchain and base image into the same cache.
mkdir -p "$MLENV_CACHE_DIR"
exec 9>"$MLENV_CACHE_DIR/setup.lock"
flock 9
"$here/setup-python.sh"
"$here/setup-pulumi.sh"
"$here/setup-docker.sh"
"$here/setup-registry.sh"
"$here/setup-buildkit.sh"
"$here/setup-base-image.sh"
"$here/setup-proxy.sh"
"$here/setup-stack.sh"
say "ready in $((SECONDS - start)) s"
