#!/usr/bin/env bash
# Chromium from Debian's packages: the headless browser the page tests drive
# (`mlenv ui`). Installs it only when missing; starts nothing (each test
# session starts its own headless Chromium with a fresh profile).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ -x /usr/bin/chromium ]; then
  say "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "chromium is not installed; install it (apt-get install chromium) and rerun"
command -v apt-get >/dev/null || die "chromium is not installed and this is not Debian: install Chromium at /usr/bin/chromium and rerun"
say "browser: installing chromium from Debian"
# Waits for another apt (another session installing) instead of failing on its lock.
install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 chromium fonts-dejavu-core >/dev/null
}
install 2>/dev/null || { apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null && install; }
say "browser: $(/usr/bin/chromium --version | head -1)"
