#!/usr/bin/env bash
# PID 1 of the Ray cluster's own network + PID namespace (started by
# setup-ray.sh through `unshare --net --pid --fork --mount-proc`). It brings
# the namespace's loopback up, forwards the Jobs API to a unix socket the host
# can reach, starts the head and the worker node, then waits: when it dies,
# the kernel ends every process of the namespace (which is how ray-stop.sh
# stops the cluster; `ray stop` is never needed).
#
# Reads: RAY_VENV, RAY_ROOT, RAY_SOCKET, RAY_TEMP (exported by setup-ray.sh).
set -uo pipefail
ip link set lo up
ray_bin="$RAY_VENV/bin/ray"
# shellcheck source=scripts/ray-node.sh
source "$(dirname "$0")/ray-node.sh"

rm -f "$RAY_SOCKET"
socat "UNIX-LISTEN:$RAY_SOCKET,fork,mode=600" "TCP:127.0.0.1:$RAY_DASHBOARD_PORT" \
  >"$RAY_ROOT/logs/bridge-inside.log" 2>&1 &

start_node head >"$RAY_ROOT/logs/head.log" 2>&1 &
echo $! >"$RAY_ROOT/run/head.pid"
# The worker starts once the head is up: two nodes starting together on a busy
# machine can miss Ray's fixed 30 s startup limit.
for _ in $(seq 1 600); do
  grep -q "Ray runtime started" "$RAY_ROOT/logs/head.log" 2>/dev/null && break
  kill -0 "$(cat "$RAY_ROOT/run/head.pid")" 2>/dev/null || exit 1
  sleep 0.5
done
start_node worker >"$RAY_ROOT/logs/worker.log" 2>&1 &
echo $! >"$RAY_ROOT/run/worker.pid"
# PID 1: reap children until killed.
while true; do wait; sleep 1; done
