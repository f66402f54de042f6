#!/usr/bin/env bash
# Frees the disk space of manifests `mlenv gc` deleted from the local registry:
# `docker-registry garbage-collect`. Garbage collection must not run beside
# pushes (a blob being uploaded could be taken), so a registry this setup
# started (pid file in $MLENV_SERVICES_STATE) is restarted read-only for the
# collection (pulls keep working; pushes are refused meanwhile), then restarted
# as it was. A registry this setup did not start is never touched: stop it
# yourself, or run this where its pid file is. Idempotent.
#   MLENV_REGISTRY: which local registry (127.0.0.1:5000 by default)
set -euo pipefail
source "$(dirname "$0")/env.sh"

answers() { curl -fsS -m 5 "http://$1/v2/" >/dev/null 2>&1; }
addr="$MLENV_REGISTRY"
port="${addr##*:}"
suffix=""; [ "$port" = 5000 ] || suffix="-$port"
home="$MLENV_SERVICES_STATE"
config="$home/registry$suffix.yml"
pidfile="$home/registry$suffix.pid"
log="$home/logs/registry$suffix.log"
[ -f "$config" ] || die "no registry configuration $config: the registry on $addr was not set up from this state folder (scripts/setup-registry.sh)"

stop() {  # pid: TERM, then wait until it is gone
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 80); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.25; done
  die "registry (pid $1) did not stop"
}
start() {  # config: serve it, record the pid, wait until it answers
  nohup docker-registry serve "$1" >>"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 40); do answers "$addr" && return 0; sleep 0.25; done
  die "registry did not answer after restart; see $log"
}

running=""
if answers "$addr"; then
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "docker-registry serve $config"; then
    die "the registry on $addr was not started from $home (no matching pid file): stop it, then rerun"
  fi
  running="$pid"
  readonly_config="$home/registry$suffix.readonly.yml"
  sed 's/^storage:$/storage:\n  maintenance: { readonly: { enabled: true } }/' "$config" >"$readonly_config"
  say "registry-gc: restarting $addr read-only for the collection (pulls keep working)"
  stop "$running"
  start "$readonly_config"
fi
before="$(du -sb "$(awk '/rootdirectory/ {gsub(/[{}]/, ""); print $NF}' "$config")" | cut -f1)"
say "registry-gc: docker-registry garbage-collect $config"
docker-registry garbage-collect "$config" >>"$log" 2>&1 || {
  [ -n "$running" ] && { stop "$(cat "$pidfile")"; start "$config"; }
  die "garbage-collect failed; see $log"
}
after="$(du -sb "$(awk '/rootdirectory/ {gsub(/[{}]/, ""); print $NF}' "$config")" | cut -f1)"
if [ -n "$running" ]; then
  stop "$(cat "$pidfile")"
  start "$config"
  say "registry-gc: $addr serves read-write again"
fi
say "registry-gc: freed $((before - after)) bytes"
