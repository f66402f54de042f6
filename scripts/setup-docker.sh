#!/usr/bin/env bash
# A Docker engine that answers on $DOCKER_HOST. When none does and we are root
# on Debian: install docker.io and start dockerd with no bridge and no
# iptables (builds and containers use host networking only).
set -euo pipefail
source "$(dirname "$0")/env.sh"

answers() { timeout 10 "$MLENV_DOCKER_CLI" -H "$DOCKER_HOST" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if [ -n "$MLENV_DOCKER_CLI" ] && answers; then
  say "docker: engine answers on $DOCKER_HOST"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "no Docker engine answers on $DOCKER_HOST; start one (or set DOCKER_HOST) and rerun"
if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then
  command -v apt-get >/dev/null || die "no Docker engine answers on $DOCKER_HOST and this is not Debian: install Docker and rerun"
  say "docker: installing docker.io from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null; }
fi
export MLENV_DOCKER_CLI=/usr/bin/docker
[ "$DOCKER_HOST" = "unix:///var/run/docker.sock" ] || die "no Docker engine answers on $DOCKER_HOST"
mkdir -p "$MLENV_SERVICES_STATE/logs"
say "docker: starting dockerd (--bridge=none --iptables=false), log in .state/logs/dockerd.log"
nohup /usr/sbin/dockerd --bridge=none --iptables=false --ip6tables=false \
  --host unix:///var/run/docker.sock >"$MLENV_SERVICES_STATE/logs/dockerd.log" 2>&1 &
for _ in $(seq 1 60); do answers && { say "docker: engine is up"; exit 0; }; sleep 0.5; done
die "dockerd did not answer within 30 s; see $MLENV_SERVICES_STATE/logs/dockerd.log"
