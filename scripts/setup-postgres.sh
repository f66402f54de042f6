#!/usr/bin/env bash
# A local PostgreSQL 15 cluster for team workspaces and the tests: Debian's
# server packages (installed when missing), a cluster owned by the `postgres`
# user in the per-user state folder, on 127.0.0.1:${MLENV_PG_PORT:-5433} with
# trust authentication for local connections only (a real team server has
# passwords; see docs/workspace.md). Idempotent: a cluster that answers is
# reused. Prints the workspace URL on stdout (progress on stderr).
#   MLENV_PG_PORT      port (5433)
#   MLENV_PG_DATABASE  database to make sure exists (mlenv)
set -euo pipefail
source "$(dirname "$0")/env.sh"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

port="${MLENV_PG_PORT:-5433}"
database="${MLENV_PG_DATABASE:-mlenv}"
[[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]] || die "MLENV_PG_DATABASE '$database': use lower-case letters, digits and _"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"

if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "PostgreSQL is missing: apt-get install postgresql"
  say "postgres: installing Debian's postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
fi

ready() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; }
psql_() { "$bin/psql" -h 127.0.0.1 -p "$port" -U mlenv -d postgres -v ON_ERROR_STOP=1 -tAq "$@"; }

# One setup at a time per port (tests of several sessions may start it at once).
exec 9>"/tmp/pulumi-mlenv-postgres-$port.lock"
flock 9

if ! ready; then
  folder="$MLENV_SERVICES_STATE/postgres-$port"
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses root: the cluster belongs to `postgres`, who must reach the
    # folder; a home it cannot enter (mode 700) means a system path instead.
    mkdir -p "$folder"
    chown postgres: "$folder"
    if ! runuser -u postgres -- test -w "$folder"; then
      folder="/var/lib/pulumi-mlenv/postgres-$(id -un)-$port"
      say "postgres: user postgres cannot enter $MLENV_SERVICES_STATE; the cluster lives in $folder"
      mkdir -p "$folder"
      chown postgres: "$folder"
    fi
    as_owner() { runuser -u postgres -- "$@"; }
  else
    mkdir -p "$folder"
    as_owner() { "$@"; }
  fi
  if [ ! -f "$folder/data/PG_VERSION" ]; then
    say "postgres: initdb in $folder/data"
    as_owner "$bin/initdb" -D "$folder/data" -A trust -U mlenv -E UTF8 >"$folder/initdb.log" 2>&1 \
      || die "initdb failed; see $folder/initdb.log"
  fi
  say "postgres: starting on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1" start >/dev/null 9>&- \
    || die "PostgreSQL did not start; see $folder/server.log"
fi
ready || die "nothing answers on 127.0.0.1:$port"
if [ -z "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
  say "postgres: creating database $database"
  psql_ -c "CREATE DATABASE $database" >/dev/null 2>&1 \
    || [ -n "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ] \
    || die "could not create database $database"
fi
say "postgres: answers on 127.0.0.1:$port (workspace URL below; MLENV_WORKSPACE=<it> to use it)"
echo "postgresql+psycopg://mlenv@127.0.0.1:$port/$database"
