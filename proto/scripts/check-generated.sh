#!/usr/bin/env bash
# Fails when the committed TypeScript in src/gen is not what `buf generate` makes from the .proto
# files, or when buf lint finds a problem.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a src/gen "$tmp/committed"
npx buf generate --output "$tmp/fresh-root"
fresh="$tmp/fresh-root/src/gen"
if ! diff -r "$tmp/committed" "$fresh" >/dev/null; then
  diff -r "$tmp/committed" "$fresh" | head -40
  echo "proto: generated TypeScript is stale. Run: npm run proto:generate, then commit proto/src/gen." >&2
  exit 1
fi
echo "proto: generated TypeScript is current."
