#!/usr/bin/env bash
# A standalone BuildKit daemon (reproducible digests, COPY --link, secrets),
# built from its Go module into the per-user cache once per version, and
# started with the OCI worker (runc) on the host network. Its config and log
# live in the per-user state folder ($MLENV_SERVICES_STATE), not in a clone.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
bin="$MLENV_BUILDKIT_BIN"

answers() { timeout 10 "$bin/buildctl" --addr "$BUILDKIT_HOST" debug workers >/dev/null 2>&1; }
# A busy machine can make a running daemon slow to answer: never start a
# second one on the same socket (it would take the socket from the first and
# fail every build in progress); wait for the one that runs.
running() { pgrep -f "buildkitd --config .*--addr $BUILDKIT_HOST" >/dev/null 2>&1; }
if ! answers && running; then
  say "buildkit: the daemon on $BUILDKIT_HOST is busy; waiting for it"
  for _ in $(seq 1 60); do answers && break; sleep 2; done
fi

if [ ! -x "$bin/buildkitd" ] || [ ! -x "$bin/buildctl" ]; then
  command -v go >/dev/null || die "Go is needed to build BuildKit here: install Go 1.22+ and rerun"
  say "buildkit: building buildkitd and buildctl $BUILDKIT_VERSION from Go modules (about 3 min, once per machine)"
  mkdir -p "$bin"
  (cd tools/buildkit && go build -trimpath -o "$bin/" \
     github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
fi
mkdir -p /run/pulumi-mlenv "$MLENV_CACHE_DIR/buildkit-root" "$MLENV_SERVICES_STATE/logs"
# 127.0.0.1:5001 is where tests run a registry that requires a login.
config="$(cat <<TOML
[worker.oci]
  enabled = true
  gc = true
  gckeepstorage = "20GB"
[worker.containerd]
  enabled = false
[registry."127.0.0.1:5000"]
  http = true
  insecure = true
[registry."localhost:5000"]
  http = true
  insecure = true
[registry."127.0.0.1:5001"]
  http = true
  insecure = true
TOML
)"
sum="$(printf '%s' "$config" | sha256sum | cut -c1-64)"
stamp=/run/pulumi-mlenv/buildkitd.config.sha256
if answers; then
  if [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    say "buildkit: daemon answers on $BUILDKIT_HOST"
    exit 0
  fi
  case "$BUILDKIT_HOST" in
    unix:///run/pulumi-mlenv/*) ;;
    *) say "buildkit: daemon answers on $BUILDKIT_HOST (not ours: its configuration is left alone)"; exit 0 ;;
  esac
  say "buildkit: our daemon runs an older configuration; restarting it"
  pattern="buildkitd --config .*--addr $BUILDKIT_HOST"
  pkill -f "$pattern" || true
  for _ in $(seq 1 80); do pgrep -f "$pattern" >/dev/null || break; sleep 0.25; done
fi
case "$BUILDKIT_HOST" in
  unix:///run/pulumi-mlenv/*) ;;
  *) die "no BuildKit daemon answers on $BUILDKIT_HOST; start it or unset BUILDKIT_HOST" ;;
esac
command -v runc >/dev/null || {
  say "buildkit: installing runc from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc >/dev/null
}
printf '%s\n' "$config" >"$MLENV_SERVICES_STATE/buildkitd.toml"
printf '%s' "$sum" >"$stamp"
say "buildkit: starting buildkitd on $BUILDKIT_HOST"
nohup "$bin/buildkitd" --config "$MLENV_SERVICES_STATE/buildkitd.toml" \
  --root "$MLENV_CACHE_DIR/buildkit-root" --addr "$BUILDKIT_HOST" \
  >"$MLENV_SERVICES_STATE/logs/buildkitd.log" 2>&1 &
for _ in $(seq 1 60); do answers && { say "buildkit: up"; exit 0; }; sleep 0.5; done
die "buildkitd did not answer; see $MLENV_SERVICES_STATE/logs/buildkitd.log"
