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
# The steps run without the lock's descriptor: a daemon they start must not
# inherit it, or it would hold the lock for as long as it lives.
step() { "$here/$1" 9>&-; }
step setup-python.sh
step setup-pulumi.sh
step setup-docker.sh
step setup-registry.sh
step setup-buildkit.sh
step setup-base-image.sh
step setup-proxy.sh
step setup-stack.sh
step setup-cli.sh
say "ready in $((SECONDS - start)) s"
