#!/usr/bin/env bash
# An OCI registry on 127.0.0.1:5000 (Debian's docker-registry), storage in
# .state/registry, unless MLENV_REGISTRY points elsewhere.
set -euo pipefail
source "$(dirname "$0")/env.sh"

answers() { curl -fsS -m 5 "http://$1/v2/" >/dev/null 2>&1; }

if answers "$MLENV_REGISTRY"; then
  say "registry: $MLENV_REGISTRY answers"
  exit 0
fi
[ "$MLENV_REGISTRY" = "127.0.0.1:5000" ] || die "registry $MLENV_REGISTRY does not answer (http://$MLENV_REGISTRY/v2/); check the address or unset MLENV_REGISTRY"
if ! command -v docker-registry >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "docker-registry is missing: apt-get install docker-registry"
  say "registry: installing docker-registry from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null; }
fi
mkdir -p "$MLENV_STATE/registry" "$MLENV_STATE/logs"
cat >"$MLENV_STATE/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $MLENV_STATE/registry }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:5000
YML
say "registry: starting on 127.0.0.1:5000, storage in .state/registry"
nohup docker-registry serve "$MLENV_STATE/registry.yml" >"$MLENV_STATE/logs/registry.log" 2>&1 &
for _ in $(seq 1 40); do answers 127.0.0.1:5000 && { say "registry: up"; exit 0; }; sleep 0.25; done
die "registry did not answer; see $MLENV_STATE/logs/registry.log"
