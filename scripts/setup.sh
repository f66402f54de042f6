#!/usr/bin/env bash
# Sets up whatever is missing, in order, and reuses whatever is there.
# Each step prints what it does; a second run takes seconds.
set -euo pipefail
here="$(dirname "$0")"
source "$here/env.sh"
start=$SECONDS
"$here/setup-python.sh"
"$here/setup-pulumi.sh"
"$here/setup-docker.sh"
"$here/setup-registry.sh"
"$here/setup-buildkit.sh"
"$here/setup-base-image.sh"
"$here/setup-proxy.sh"
"$here/setup-stack.sh"
say "ready in $((SECONDS - start)) s"
