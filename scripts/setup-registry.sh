#!/usr/bin/env bash
# An OCI registry (Debian's docker-registry) on $MLENV_REGISTRY (127.0.0.1:5000
# by default, any 127.0.0.1:PORT), with deletion enabled (for `mlenv gc`).
# Its storage and config live in the per-user state folder
# ($MLENV_SERVICES_STATE, ~/.local/state/pulumi-mlenv), never in a clone:
# storage left in a clone's .state/registry by older setups is moved there
# once. A registry that already answers is left alone (never restarted).
set -euo pipefail
source "$(dirname "$0")/env.sh"

answers() { curl -fsS -m 5 "http://$1/v2/" >/dev/null 2>&1; }

if answers "$MLENV_REGISTRY"; then
  say "registry: $MLENV_REGISTRY answers"
  exit 0
fi
case "$MLENV_REGISTRY" in
  127.0.0.1:[0-9]*) ;;
  *) die "registry $MLENV_REGISTRY does not answer (http://$MLENV_REGISTRY/v2/); check the address or unset MLENV_REGISTRY" ;;
esac
addr="$MLENV_REGISTRY"
port="${addr##*:}"
[[ "$port" =~ ^[0-9]+$ ]] || die "MLENV_REGISTRY=$addr: expected 127.0.0.1:PORT"
if ! command -v docker-registry >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "docker-registry is missing: apt-get install docker-registry"
  say "registry: installing docker-registry from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null; }
fi
# The default port keeps the plain names; another port gets its own files.
suffix=""; [ "$port" = 5000 ] || suffix="-$port"
home="$MLENV_SERVICES_STATE"
storage="$home/registry$suffix"
config="$home/registry$suffix.yml"
mkdir -p "$home/logs"
old="$MLENV_STATE/registry$suffix"
if [ -d "$old" ] && [ -n "$(ls -A "$old" 2>/dev/null)" ] && [ ! -L "$old" ]; then
  if [ -z "$(ls -A "$storage" 2>/dev/null)" ]; then
    say "registry: moving its storage out of the clone: $old -> $storage"
    rmdir "$storage" 2>/dev/null || true
    mv "$old" "$storage"
    ln -s "$storage" "$old"  # older scripts of this clone still find it
  else
    say "registry: $old is left as it is ($storage is in use; nothing is merged)"
  fi
fi
mkdir -p "$storage"
cat >"$config" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $storage }
  delete: { enabled: true }
http:
  addr: $addr
YML
say "registry: starting on $addr, storage in $storage"
nohup docker-registry serve "$config" >"$home/logs/registry$suffix.log" 2>&1 &
echo $! >"$home/registry$suffix.pid"
for _ in $(seq 1 40); do answers "$addr" && { say "registry: up"; exit 0; }; sleep 0.25; done
die "registry did not answer; see $home/logs/registry$suffix.log"
