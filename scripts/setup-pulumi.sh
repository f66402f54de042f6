#!/usr/bin/env bash
# The Pulumi CLI and Python language host. Uses a `pulumi` on PATH when it is
# at least the SDK's version; else builds both from their Go modules into the
# per-user cache (shared by every clone), once per version.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
sdk_version="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pulumi"))')"
bin="$MLENV_PULUMI_BIN"

ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

if [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-python" ] \
   && [ -x "$bin/pulumi-language-python-exec" ] && [ -x "$bin/pulumi-resource-pulumi-python" ]; then
  say "pulumi: $PULUMI_CLI_VERSION already built in $bin"
  exit 0
fi
if other="$(PATH="${PATH#*$bin:}" command -v pulumi 2>/dev/null)"; then
  v="$("$other" version 2>/dev/null | tr -d v || true)"
  if [ -n "$v" ] && ver_ge "$v" "$sdk_version"; then
    say "pulumi: using $other ($v >= SDK $sdk_version)"
    exit 0
  fi
fi
command -v go >/dev/null || die "Go is needed to build the Pulumi CLI here (no binary downloads): install Go 1.22+ (https://go.dev/dl or apt-get install golang) and rerun"
mkdir -p "$bin"
modcache="$(go env GOMODCACHE)"
if [ ! -x "$bin/pulumi" ]; then
  say "pulumi: building the CLI $PULUMI_CLI_VERSION from Go modules (a few minutes, once per machine)"
  (cd tools/pulumi && go build -trimpath \
     -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION" \
     -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv "$bin/pulumi.tmp" "$bin/pulumi"
fi
if [ ! -x "$bin/pulumi-language-python" ]; then
  say "pulumi: building the Python language host (sdk/v3 $PULUMI_LANGHOST_SDK_VERSION)"
  (cd tools/pulumi-language-python && go build -trimpath -o "$bin/pulumi-language-python.tmp" \
     github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python)
  mv "$bin/pulumi-language-python.tmp" "$bin/pulumi-language-python"
fi
# The exec shim and the dynamic-provider launcher are files of the sdk/v3
# module at the CLI's version (already in the module cache after the build).
sdk="$modcache/github.com/pulumi/pulumi/sdk/v3@$PULUMI_CLI_VERSION/python"
[ -d "$sdk" ] || (cd tools/pulumi && go mod download github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
install -m 0755 "$sdk/dist/pulumi-resource-pulumi-python" "$bin/pulumi-resource-pulumi-python"
say "pulumi: $("$bin/pulumi" version) ready in $bin"
