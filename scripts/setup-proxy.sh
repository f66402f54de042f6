#!/usr/bin/env bash
# HAProxy from Debian's packages: the reverse proxy that serves endpoints
# (traffic weights over deployments). Installs it only when missing; starts
# nothing (each endpoint runs its own haproxy, started by pulumi-mlenv).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  say "proxy: $( (haproxy -v 2>/dev/null || /usr/sbin/haproxy -v) | head -1)"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "haproxy is not installed; install it (apt-get install haproxy) and rerun"
command -v apt-get >/dev/null || die "haproxy is not installed and this is not Debian: install HAProxy 2.x and rerun"
say "proxy: installing haproxy from Debian"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy >/dev/null; }
say "proxy: $(/usr/sbin/haproxy -v | head -1)"
