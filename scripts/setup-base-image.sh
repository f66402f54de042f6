#!/usr/bin/env bash
# The default base image for system-managed environments: Debian bookworm
# with Python 3.11, venv and pip. Reused when the registry has it; pulled when
# it can be; otherwise built from Debian's packages (mmdebstrap + docker
# import) and pushed. The root filesystem is cached per user, so a fresh clone
# only re-imports it (seconds).
#
# MLENV_CA_BUNDLE (default: the host's bundle) reaches apt while packages are
# downloaded; it is left in the image only with MLENV_BASE_KEEP_CA=1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
ref="$MLENV_BASE_IMAGE"
docker=("$MLENV_DOCKER_CLI" -H "$DOCKER_HOST")

in_registry() {  # ref -> 0 when the registry serves its manifest
  local host="${1%%/*}" rest="${1#*/}" repo tag
  repo="${rest%:*}"; tag="${rest##*:}"
  curl -fsS -m 10 -o /dev/null -I 2>/dev/null \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' \
    "http://$host/v2/$repo/manifests/$tag"
}
is_local_registry() { case "$1" in 127.0.0.1:*/*|localhost:*/*) return 0;; *) return 1;; esac; }

if is_local_registry "$ref" && in_registry "$ref"; then
  say "base image: $ref is in the registry"
  exit 0
fi
if ! is_local_registry "$ref"; then
  if timeout 120 "${docker[@]}" pull -q "$ref" >/dev/null 2>&1; then
    say "base image: pulled $ref"
    exit 0
  fi
  say "base image: $ref cannot be pulled; building a local one instead"
  ref="127.0.0.1:5000/mlenv/python:3.11-bookworm"
  in_registry "$ref" && { say "base image: using $ref (set MLENV_BASE_IMAGE=$ref)"; exit 0; }
fi

ca="${MLENV_CA_BUNDLE-}"
if [ -z "${MLENV_CA_BUNDLE+x}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  ca=/etc/ssl/certs/ca-certificates.crt
fi
keep="${MLENV_BASE_KEEP_CA:-0}"
key="$(printf 'bookworm python3 python3-venv python3-pip ca-certificates keep=%s ca=%s' "$keep" \
  "$( [ -n "$ca" ] && sha256sum "$ca" | cut -c1-16 )" | sha256sum | cut -c1-12)"
rootfs="$MLENV_CACHE_DIR/base/bookworm-py311-$key.tar"
if [ ! -f "$rootfs" ]; then
  command -v mmdebstrap >/dev/null || {
    say "base image: installing mmdebstrap from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/dev/null
  }
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  opts=(--variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates
        --aptopt='APT::Install-Recommends "false"')
  [ -n "$ca" ] && opts+=(--aptopt="Acquire::https::CAInfo \"$ca\"")
  if [ -n "$ca" ] && [ "$keep" = 1 ]; then
    opts+=(--customize-hook="install -D -m 0644 '$ca' \"\$1/usr/local/share/ca-certificates/mlenv-extra-ca.crt\"" \
           --customize-hook='chroot "$1" update-ca-certificates >/dev/null')
  fi
  # Drop the docs and apt lists: smaller image, nothing of the build left.
  opts+=(--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*')
  say "base image: building bookworm + Python 3.11 root filesystem with mmdebstrap (about 20 s)"
  mkdir -p "$(dirname "$rootfs")"
  SOURCE_DATE_EPOCH=0 mmdebstrap -q --format=tar "${opts[@]}" bookworm "$rootfs.tmp" "$mirror"
  mv "$rootfs.tmp" "$rootfs"
fi
say "base image: importing into the engine and pushing $ref"
"${docker[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
  "$rootfs" "$ref" >/dev/null
"${docker[@]}" push "$ref" >/dev/null
say "base image: $ref ready"
