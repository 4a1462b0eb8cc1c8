#!/usr/bin/env bash
# The README's main job (`npm run demo`): installs what is missing, brings up Postgres, NATS
# JetStream and a demo OpenLDAP, starts identity, sync, connector-ldap and the gateway, creates
# the demo directory, runs syncAll, prints what it did, then adds a Microsoft Entra ID directory
# (a fake tenant, infra/fake-graph) and syncs it FULL and DELTA, and keeps serving until Ctrl-C.
# DIRSYNC_DEMO_EXIT=1 stops everything after the first sync instead of serving.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
source infra/scripts/lib.sh
source infra/scripts/stack.sh

export DATABASE_URL="${DIRSYNC_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dirsync}"
export NATS_URL="${DIRSYNC_NATS_URL:-nats://127.0.0.1:4222}"
export NATS_NAMESPACE="${DIRSYNC_NATS_NAMESPACE:-}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
LDAP_PORT="${DIRSYNC_DEMO_LDAP_PORT:-3890}"
GRAPH_PORT="${DIRSYNC_DEMO_GRAPH_PORT:-4443}"
# Every variable the demo reads is in the README's table (Quick start → Demo settings).
export STACK_GATEWAY_PORT="${DIRSYNC_GATEWAY_PORT:-4000}" STACK_PORT_BASE="${DIRSYNC_PORT_BASE:-4100}"
export STACK_LOGS="$root/.data/logs"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

base=$STACK_PORT_BASE
STACK_PORT_HINT="set DIRSYNC_GATEWAY_PORT to use another gateway port" \
  stack_port_free_or_die "$STACK_GATEWAY_PORT"
STACK_PORT_HINT="set DIRSYNC_PORT_BASE to move the services (identity = base+1 … auth = base+5)" \
  stack_port_free_or_die $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5))
STACK_PORT_HINT="set DIRSYNC_DEMO_GRAPH_PORT to move the fake Entra tenant" \
  stack_port_free_or_die "$GRAPH_PORT"

say "1/6 dependencies (npm, slapd, Postgres, NATS)"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
ensure_ldap_packages
ensure_postgres "${DATABASE_URL%/*}/postgres"
ensure_nats "$NATS_URL"
stack_ensure_database "$DATABASE_URL"

say "2/6 build"
npx turbo run build --output-logs=errors-only

say "3/6 demo OpenLDAP directory on ldap://127.0.0.1:$LDAP_PORT"
start_slapd demo "$LDAP_PORT" infra/demo/demo.ldif
mkdir -p .data
export DIRSYNC_SECRET_KEY="$(stack_secret_key "$root/.data/secret.key")"
stack_gateway_keys "$root/.data/gateway.key"
export STACK_OWNER_KEY_FILE="$root/.data/owner.key"

cleanup() {
  trap - INT TERM EXIT
  say "stopping dirsync"
  stack_stop
  stop_slapd demo >/dev/null 2>&1 || true
  if [ -n "${FAKE_GRAPH_PID:-}" ]; then kill "$FAKE_GRAPH_PID" 2>/dev/null || true; fi
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

say "4/6 dirsync services (logs in .data/logs/)"
stack_start
echo "identity :$((base + 1))  sync :$((base + 2))  connector-ldap :$((base + 3))  connector-entra :$((base + 4))  auth :$((base + 5))  gateway http://127.0.0.1:$STACK_GATEWAY_PORT/graphql"

say "5/6 sync the demo directory"
DIRSYNC_GATEWAY_URL="http://127.0.0.1:$STACK_GATEWAY_PORT/graphql" \
  DIRSYNC_API_KEY_FILE="$STACK_OWNER_KEY_FILE" DIRSYNC_DEMO_KEY_ORIGIN="${STACK_OWNER_KEY_ORIGIN:-kept}" \
  DIRSYNC_DEMO_LDAP_URL="ldap://127.0.0.1:$LDAP_PORT" node infra/scripts/demo.mjs

say "6/6 a Microsoft Entra ID directory: a fake tenant on https://127.0.0.1:$GRAPH_PORT"
rm -f .data/fake-graph.json
# A fixed tenant id: the directory's settings stay the same from one demo run to the next.
node infra/fake-graph/dist/main.js --port "$GRAPH_PORT" --info-out .data/fake-graph.json \
  --tenant-id "${DIRSYNC_DEMO_TENANT_ID:-8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b}" \
  >>"$STACK_LOGS/fake-graph.log" 2>&1 &
FAKE_GRAPH_PID=$!
for _ in $(seq 1 100); do [ -s .data/fake-graph.json ] && break; sleep 0.1; done
DIRSYNC_GATEWAY_URL="http://127.0.0.1:$STACK_GATEWAY_PORT/graphql" \
  DIRSYNC_API_KEY_FILE="$STACK_OWNER_KEY_FILE" DIRSYNC_DEMO_GRAPH_INFO=.data/fake-graph.json \
  node infra/scripts/demo-entra.mjs

if [ "${DIRSYNC_DEMO_EXIT:-}" = "1" ]; then
  say "done (stopped: DIRSYNC_DEMO_EXIT=1) — without it the demo keeps serving the console at http://127.0.0.1:$STACK_GATEWAY_PORT/"
  exit 0
fi
say "the admin console: http://127.0.0.1:$STACK_GATEWAY_PORT/ — sign in with the owner key in .data/owner.key"
say "dirsync is serving the console at http://127.0.0.1:$STACK_GATEWAY_PORT/ and the API at http://127.0.0.1:$STACK_GATEWAY_PORT/graphql — Ctrl-C stops everything."
# Serve until Ctrl-C or a TERM (the trap stops everything), or until whoever started the demo goes
# away: `kill <npm pid>` ends npm and its shell but not this script, and a shell starts background
# jobs with SIGINT ignored — the stack must not outlive `npm run demo`.
parent=$PPID
while kill -0 "$parent" 2>/dev/null; do
  sleep 1 &
  wait $! || true
done
