#!/usr/bin/env bash
# A standalone BuildKit daemon (reproducible digests, COPY --link, secrets),
# built from its Go module into the per-user cache once per version, and
# started with the OCI worker (runc) on the host network.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
bin="$MLENV_BUILDKIT_BIN"

answers() { timeout 10 "$bin/buildctl" --addr "$BUILDKIT_HOST" debug workers >/dev/null 2>&1; }

if [ ! -x "$bin/buildkitd" ] || [ ! -x "$bin/buildctl" ]; then
  command -v go >/dev/null || die "Go is needed to build BuildKit here: install Go 1.22+ and rerun"
  say "buildkit: building buildkitd and buildctl $BUILDKIT_VERSION from Go modules (about 3 min, once per machine)"
  mkdir -p "$bin"
  (cd tools/buildkit && go build -trimpath -o "$bin/" \
     github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
fi
if answers; then
  say "buildkit: daemon answers on $BUILDKIT_HOST"
  exit 0
fi
case "$BUILDKIT_HOST" in
  unix:///run/pulumi-mlenv/*) ;;
  *) die "no BuildKit daemon answers on $BUILDKIT_HOST; start it or unset BUILDKIT_HOST" ;;
esac
command -v runc >/dev/null || {
  say "buildkit: installing runc from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc >/dev/null
}
mkdir -p /run/pulumi-mlenv "$MLENV_CACHE_DIR/buildkit-root" "$MLENV_STATE/logs"
cat >"$MLENV_STATE/buildkitd.toml" <<TOML
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
TOML
say "buildkit: starting buildkitd on $BUILDKIT_HOST"
nohup "$bin/buildkitd" --config "$MLENV_STATE/buildkitd.toml" \
  --root "$MLENV_CACHE_DIR/buildkit-root" --addr "$BUILDKIT_HOST" \
  >"$MLENV_STATE/logs/buildkitd.log" 2>&1 &
for _ in $(seq 1 60); do answers && { say "buildkit: up"; exit 0; }; sleep 0.5; done
die "buildkitd did not answer; see $MLENV_STATE/logs/buildkitd.log"
