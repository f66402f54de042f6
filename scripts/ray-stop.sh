#!/usr/bin/env bash
# Stops the local Ray cluster of setup-ray.sh: kills the namespace's PID 1
# (the kernel then ends every process in it) and the host side of the Jobs
# API bridge, by the PIDs recorded, and removes the nodes' session folders.
# Never `ray stop`: on the host it kills every Ray process it can see.
set -euo pipefail
source "$(dirname "$0")/env.sh"
root="$MLENV_CACHE_DIR/ray"
temp="/tmp/mlenv-ray-$(id -u)"
for name in namespace bridge; do
  pid="$(cat "$root/run/$name.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$root/run/$name.pid"
done
rm -f "$root/run/jobs.sock" "$root/run/head.pid" "$root/run/worker.pid"
rm -rf "$temp"
say "ray: stopped; session folders removed"
