#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing, starts what is not running,
# builds, checks generated code, lints, type-checks, then runs every workspace's tests against
# real Postgres, NATS JetStream, slapd and Samba AD.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
source infra/scripts/lib.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
ensure_ldap_packages
# Samba AD: installed and its test domain provisioned once (cached in .data/samba-ad); each test
# file that needs a DC copies it and starts its own on a 127.0.0.x address (testkit startSambaAd).
ensure_samba_template >/dev/null
ensure_chromium
ensure_postgres "${DIRSYNC_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
ensure_nats "${DIRSYNC_TEST_NATS_URL:-nats://127.0.0.1:4222}"

step "build"
npx turbo run build --output-logs=errors-only

step "contracts are current"
npm run --silent proto:check
npm run --silent compose:check -w @dirsync/gateway

step "lint and format"
npx eslint . --max-warnings=0
npx prettier --check . --log-level warn

step "type-check (sources and tests)"
npx turbo run typecheck --output-logs=errors-only

step "tests"
npx vitest run "$@"
