# shellcheck shell=bash
# One Ray node of the local cluster, run inside its namespace (sourced by
# ray-namespace.sh, and by setup-ray.sh to bring a lost worker back).
# Every port is explicit and each node has a --temp-dir of its own: two
# runtime-env agents sharing one would build the same folder and fail.
# The namespace's loopback is its own, so these fixed ports clash with nothing.
RAY_GCS_PORT=6380
RAY_DASHBOARD_PORT=8265

start_node() {
  local role="$1" common
  # HOME holds ray_bootstrap_config.yaml (`provider: {type: local}`): without
  # it the dashboard asks cloud metadata addresses, usage stats off or not.
  export HOME="$RAY_ROOT/home" RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
  # A busy machine starts the agents slowly: wait for them longer than the default.
  export RAY_agent_register_timeout_ms=300000
  # The head declares a node dead after this many missed health checks (3 s
  # apart); Ray's 5 lost the worker of a loaded 2-core machine between two
  # runs. A node that really dies is still found within ~30 s.
  export RAY_health_check_failure_threshold=10
  common=(--node-ip-address 127.0.0.1 --disable-usage-stats --num-cpus 2
    --object-store-memory 200000000 --block)
  if [ "$role" = head ]; then
    exec "$RAY_VENV/bin/ray" start --head --port "$RAY_GCS_PORT" "${common[@]}" \
      --temp-dir "$RAY_TEMP/head" \
      --dashboard-host 127.0.0.1 --dashboard-port "$RAY_DASHBOARD_PORT" \
      --ray-client-server-port 10001 \
      --node-manager-port 6381 --object-manager-port 6382 \
      --dashboard-agent-listen-port 6383 --dashboard-agent-grpc-port 6384 \
      --metrics-export-port 6385 --runtime-env-agent-port 6386 \
      --min-worker-port 11000 --max-worker-port 11499
  fi
  exec "$RAY_VENV/bin/ray" start --address "127.0.0.1:$RAY_GCS_PORT" "${common[@]}" \
    --temp-dir "$RAY_TEMP/worker" \
    --node-manager-port 6391 --object-manager-port 6392 \
    --dashboard-agent-listen-port 6393 --dashboard-agent-grpc-port 6394 \
    --metrics-export-port 6395 --runtime-env-agent-port 6396 \
    --min-worker-port 11500 --max-worker-port 11999
}
