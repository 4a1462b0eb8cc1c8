#!/usr/bin/env bash
# `npm run bench`: generates 100,000 users / 2,000 groups into a separate slapd, starts the
# services against a scratch database and NATS namespace, and measures the raw floor, a full
# syncAll, a no-op syncAll and peak memory (bench/results/full-sync.json), then a DELTA run after
# 1,000 user and 20 membership changes (bench/results/delta-sync.json). Then the Entra run: a fake
# Graph tenant of 50,000 users, full and no-op syncAll (bench/results/entra-sync.json).
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
source infra/scripts/lib.sh
source infra/scripts/stack.sh

PG_ADMIN_URL="${DIRSYNC_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export DATABASE_URL="${PG_ADMIN_URL%/*}/dirsync_bench"
export NATS_URL="${DIRSYNC_NATS_URL:-nats://127.0.0.1:4222}"
export NATS_NAMESPACE="bench$(date +%s)"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
export STACK_PORT_BASE=4200 STACK_GATEWAY_PORT=4300 STACK_LOGS="$root/.data/logs/bench"
export SCHEDULER_ENABLED=false

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
ensure_ldap_packages
ensure_postgres "$PG_ADMIN_URL"
ensure_nats "$NATS_URL"
npx turbo run build --output-logs=errors-only

# BENCH_ONLY=entra runs the Entra part alone (no slapd, no LDAP run).
only="${BENCH_ONLY:-}"
if [ "$only" != entra ]; then
  echo "== bench directory (100,000 users, 2,000 groups)"
  start_bench_slapd
fi
psql "$PG_ADMIN_URL" -q -c 'drop database if exists dirsync_bench with (force)' -c 'create database dirsync_bench'
mkdir -p .data
export DIRSYNC_SECRET_KEY="$(stack_secret_key "$root/.data/secret.key")"
stack_gateway_keys "$root/.data/gateway.key"
export STACK_OWNER_KEY_FILE="$root/.data/bench-owner.key"
rm -f "$STACK_OWNER_KEY_FILE"   # a fresh database: the auth service writes a new first key
export GATEWAY_RATE_LIMIT_PER_MINUTE=0
rm -rf "$STACK_LOGS"

cleanup() {
  trap - INT TERM EXIT
  stack_stop
  stop_slapd bench >/dev/null 2>&1 || true
  node -e '
    const { connect } = require(require.resolve("nats", { paths: ["infra/testkit"] }));
    (async () => { const nc = await connect({ servers: process.argv[1] }); const jsm = await nc.jetstreamManager();
      for await (const s of jsm.streams.list()) if (s.config.name.startsWith(process.argv[2] + "_")) await jsm.streams.delete(s.config.name);
      await nc.close(); })().catch(() => {});
  ' "$NATS_URL" "$NATS_NAMESPACE"
}
trap cleanup INT TERM EXIT

echo "== services"
stack_start
pids=""
for name in "${!STACK_PID_OF[@]}"; do pids+="$name:${STACK_PID_OF[$name]},"; done

if [ "$only" != entra ]; then
  BENCH_PIDS="$pids" DIRSYNC_API_KEY_FILE="$STACK_OWNER_KEY_FILE" BENCH_GATEWAY_URL="http://127.0.0.1:$STACK_GATEWAY_PORT/graphql" \
    BENCH_PG_URL="$DATABASE_URL" node bench/full-sync.mjs "$@"
fi

echo "== Entra ID: fake Graph tenant (${BENCH_ENTRA_USERS:-50000} users)"
BENCH_PIDS="$pids" DIRSYNC_API_KEY_FILE="$STACK_OWNER_KEY_FILE" BENCH_GATEWAY_URL="http://127.0.0.1:$STACK_GATEWAY_PORT/graphql" \
  node bench/entra-sync.mjs
