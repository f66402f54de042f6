#!/usr/bin/env bash
# A two-node Ray cluster on this host (a head and a worker), then the compute
# target `ray-local` in the workspace. Idempotent: a cluster that answers with
# both nodes is reused; a cluster that lost a node starts again.
#
# Why a namespace of its own (`unshare --net --pid --fork --mount-proc`): on
# one host Ray otherwise advertises the host's interface address, and its
# dashboard opens connections to cloud metadata addresses even with usage
# stats off; inside, the only network is the namespace's loopback. The PID
# namespace makes the cluster one process tree that ends with its PID 1, so
# nothing ever needs `ray stop` (which kills every Ray process it can see,
# other users' clusters included).
#
# The host reaches the Jobs API (the dashboard, 127.0.0.1:8265 inside) through
# a bridge of two socat processes and a unix socket in the shared filesystem:
#   host 127.0.0.1:$MLENV_RAY_PORT -> $root/run/jobs.sock -> namespace 127.0.0.1:8265
# Ray itself (from PyPI, pinned) lives in a virtualenv of its own in the
# per-user cache; node session folders in /tmp/mlenv-ray-$UID (ray-stop.sh
# removes them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

RAY_VERSION="${MLENV_RAY_VERSION:-2.60.0}"
HOST_PORT="${MLENV_RAY_PORT:-8265}"
export RAY_ROOT="$MLENV_CACHE_DIR/ray"
export RAY_VENV="$RAY_ROOT/ray-$RAY_VERSION"
export RAY_SOCKET="$RAY_ROOT/run/jobs.sock"
# Short: Ray puts unix sockets under the session folder (a 107-byte limit).
export RAY_TEMP="/tmp/mlenv-ray-$(id -u)"
url="http://127.0.0.1:$HOST_PORT"
WAIT_SECONDS="${MLENV_RAY_WAIT_SECONDS:-120}"

alive_nodes() {
  curl -fsS -m 3 "$url/api/v0/nodes?limit=20" 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"]["result"]["result"]
print(sum(1 for r in rows if r.get("state") == "ALIVE"))' 2>/dev/null || echo 0
}
namespace_pid() {  # the host PID of the namespace's PID 1, when it lives
  local pid
  pid="$(cat "$RAY_ROOT/run/namespace.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

for tool in socat curl unshare nsenter ip; do
  command -v "$tool" >/dev/null && continue
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "$tool is missing: apt-get install socat curl util-linux iproute2"
  say "ray: installing $tool from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q socat curl util-linux iproute2 >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q socat curl util-linux iproute2 >/dev/null; }
done

if [ ! -f "$RAY_VENV/.mlenv-complete" ]; then
  say "ray: installing ray[default]==$RAY_VERSION into $RAY_VENV (about 20 s, once per machine)"
  mkdir -p "$RAY_ROOT"
  rm -rf "$RAY_VENV"
  uv="$MLENV_ROOT/.venv/bin/uv"
  [ -x "$uv" ] || uv="$(command -v uv)" || die "uv is missing: run scripts/setup-python.sh first"
  "$uv" venv --quiet --python python3 "$RAY_VENV"
  # Byte-code compiled now: every Ray process imports thousands of modules,
  # and with PYTHONDONTWRITEBYTECODE set none would ever be cached.
  "$uv" pip install --quiet --compile-bytecode --python "$RAY_VENV/bin/python" "ray[default]==$RAY_VERSION"
  touch "$RAY_VENV/.mlenv-complete" "$RAY_VENV/.mlenv-bytecode"
fi
if [ ! -f "$RAY_VENV/.mlenv-bytecode" ]; then  # made by an earlier version of this script
  say "ray: compiling Ray's byte-code (once)"
  "$RAY_VENV/bin/python" -m compileall -q -j 0 "$RAY_VENV/lib" >/dev/null 2>&1 || true
  touch "$RAY_VENV/.mlenv-bytecode"
fi
mkdir -p "$RAY_ROOT/home" "$RAY_ROOT/logs" "$RAY_ROOT/run"
# One setup at a time (tests and `make ray` may start together); the
# daemons are started without this descriptor so that they never hold it.
exec 8>"$RAY_ROOT/setup.lock"
flock 8
printf 'provider:\n  type: local\n' >"$RAY_ROOT/home/ray_bootstrap_config.yaml"

start_cluster() {  # a head and a worker in a new namespace, then the bridge; 1: not up in time
  local child="" unshare_pid bridge_pid deadline
  say "ray: starting a head and a worker node in a namespace of their own"
  rm -rf "$RAY_TEMP"
  mkdir -p "$RAY_TEMP"
  # Started at a raised CPU priority, lowered again once both nodes are up:
  # Ray gives a node a fixed 30 s to register, which a busy machine misses.
  setsid nohup nice -n -5 unshare --net --pid --fork --mount-proc "$here/ray-namespace.sh" \
    >"$RAY_ROOT/logs/namespace.log" 2>&1 </dev/null 8>&- &
  unshare_pid=$!
  for _ in $(seq 1 50); do  # the namespace's PID 1 is unshare's child
    child="$(ps -o pid= --ppid "$unshare_pid" 2>/dev/null | tr -d ' ' | head -1 || true)"
    [ -n "$child" ] && break
    sleep 0.1
  done
  [ -n "${child:-}" ] || return 1
  echo "$child" >"$RAY_ROOT/run/namespace.pid"
  # The host side of the bridge (one per host port; reused when it lives).
  bridge_pid="$(cat "$RAY_ROOT/run/bridge.pid" 2>/dev/null || true)"
  if [ -z "$bridge_pid" ] || ! kill -0 "$bridge_pid" 2>/dev/null; then
    setsid nohup socat "TCP-LISTEN:$HOST_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$RAY_SOCKET" \
      >"$RAY_ROOT/logs/bridge-host.log" 2>&1 </dev/null 8>&- &
    echo $! >"$RAY_ROOT/run/bridge.pid"
  fi
  deadline=$((SECONDS + WAIT_SECONDS))
  until [ "$(alive_nodes)" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] && kill -0 "$child" 2>/dev/null || return 1
    sleep 1
  done
  nsenter --target "$child" --pid --mount -- sh -c 'renice -n 0 -p $(ps -e -o pid=) >/dev/null' || true
}

nodes="$(alive_nodes)"
if [ "$nodes" -ge 2 ]; then
  say "ray: cluster $url answers with $nodes nodes"
else
  if namespace_pid >/dev/null; then
    # A node was lost: a node re-joining its old session folder fails to
    # start, so the whole cluster starts again.
    say "ray: $nodes node(s) alive; starting the cluster again"
    "$here/ray-stop.sh" >/dev/null
  fi
  # Should a start still miss Ray's startup limit, it is tried again from scratch.
  for attempt in 1 2 3; do
    start_cluster && break
    "$here/ray-stop.sh" >/dev/null
    [ "$attempt" -lt 3 ] || die "ray did not come up with 2 nodes (3 tries of ${WAIT_SECONDS} s); see $RAY_ROOT/logs/head.log and worker.log"
    say "ray: not up after ${WAIT_SECONDS} s (attempt $attempt); starting again"
  done
  say "ray: up ($url, 2 nodes)"
fi

# The compute target, in the workspace the CLI uses (MLENV_WORKSPACE).
"$MLENV_ROOT/.venv/bin/mlenv" compute add ray-local --kind ray --url "$url" >/dev/null
say "ray: compute target ray-local -> $url"
