#!/usr/bin/env bash
# A Spark standalone cluster on this host: a master on 127.0.0.1:7077 and one
# worker, from the `pyspark` package (Java from Debian's OpenJDK 17), then the
# compute target `spark-local` in the workspace. Idempotent: a cluster that
# answers is reused; a second run takes a second.
#
# pyspark goes into a virtualenv of its own in the per-user cache (shared by
# every clone on the machine); the daemons' logs and work folders sit beside it.
set -euo pipefail
source "$(dirname "$0")/env.sh"

PYSPARK_VERSION="${MLENV_PYSPARK_VERSION:-4.3.0}"
MASTER_PORT="${MLENV_SPARK_MASTER_PORT:-7077}"
MASTER_UI="${MLENV_SPARK_MASTER_UI_PORT:-8480}"
WORKER_UI="${MLENV_SPARK_WORKER_UI_PORT:-8481}"
# Spark binds the loopback address only (nothing here may talk to a private range).
export SPARK_LOCAL_IP=127.0.0.1
root="$MLENV_CACHE_DIR/spark"
venv="$root/pyspark-$PYSPARK_VERSION"
master_url="spark://127.0.0.1:$MASTER_PORT"

alive_workers() {
  curl -fsS -m 3 "http://127.0.0.1:$MASTER_UI/json/" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("aliveworkers", 0))' 2>/dev/null \
    || echo 0
}

if ! command -v java >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "Java 17 is missing: apt-get install openjdk-17-jre-headless"
  say "spark: installing OpenJDK 17 from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null; }
fi

if [ ! -f "$venv/.mlenv-complete" ]; then
  say "spark: installing pyspark $PYSPARK_VERSION into $venv (about 20 s, once per machine)"
  mkdir -p "$root"
  rm -rf "$venv"
  uv="$MLENV_ROOT/.venv/bin/uv"
  [ -x "$uv" ] || uv="$(command -v uv)" || die "uv is missing: run scripts/setup-python.sh first"
  "$uv" venv --quiet --python python3 "$venv"
  "$uv" pip install --quiet --python "$venv/bin/python" "pyspark==$PYSPARK_VERSION"
  touch "$venv/.mlenv-complete"
fi
spark_home="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
mkdir -p "$root/logs" "$root/work"

if [ "$(alive_workers)" -ge 1 ]; then
  say "spark: master $master_url answers with a worker"
else
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$MASTER_PORT") 2>/dev/null; then
    say "spark: starting the master on $master_url (web UI :$MASTER_UI)"
    SPARK_HOME="$spark_home" nohup "$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI" \
      >"$root/logs/master.log" 2>&1 &
    echo $! >"$root/master.pid"
    for _ in $(seq 1 120); do
      (exec 3<>"/dev/tcp/127.0.0.1/$MASTER_PORT") 2>/dev/null && break
      sleep 0.5
    done
  fi
  say "spark: starting a worker (2 cores, 2 GB, web UI :$WORKER_UI)"
  SPARK_HOME="$spark_home" nohup "$spark_home/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --cores 2 --memory 2g --webui-port "$WORKER_UI" --work-dir "$root/work" \
    "$master_url" >"$root/logs/worker.log" 2>&1 &
  echo $! >"$root/worker.pid"
  for _ in $(seq 1 120); do
    [ "$(alive_workers)" -ge 1 ] && break
    sleep 0.5
  done
  [ "$(alive_workers)" -ge 1 ] || die "spark did not come up; see $root/logs/master.log and worker.log"
  say "spark: up ($master_url)"
fi

# The compute target, in the workspace the CLI uses (MLENV_WORKSPACE).
"$MLENV_ROOT/.venv/bin/mlenv" compute add spark-local --kind spark --url "$master_url" >/dev/null
say "spark: compute target spark-local -> $master_url"
