#!/usr/bin/env bash
# `make up`: pulumi up of the root program on the local `dev` stack, then its outputs.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MLENV_ROOT"
pulumi stack select dev --non-interactive
pulumi up --yes --skip-preview --non-interactive "$@"
pulumi stack output
