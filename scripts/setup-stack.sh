#!/usr/bin/env bash
# Pulumi's local file backend in .state and the local stack `dev` of the root
# program (passphrase: the documented development value in env.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
mkdir -p "${PULUMI_BACKEND_URL#file://}" "$PULUMI_HOME"
if pulumi stack ls --json 2>/dev/null | grep -q '"name": "dev"'; then
  say "stack: dev exists ($PULUMI_BACKEND_URL)"
else
  say "stack: creating local stack dev ($PULUMI_BACKEND_URL)"
  pulumi stack init dev --non-interactive >/dev/null
fi
