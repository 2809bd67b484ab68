#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, lints, runs every test with coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx biome check .
node dist/src/resources/gen-crds.js --check
node dist/src/deploy/gen-manifest.js --check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx c8 --reporter=text-summary --reporter=lcov --exclude 'dist/test/**' --exclude 'node_modules/**' \
  npx mocha --recursive "${@:-dist/test/**/*.test.js}" 2>&1 | tee "$log" || status=$?
# One plain closing line for CI, from mocha's own counts.
passed=$(grep -Eo '^ +[0-9]+ passing' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ +[0-9]+ failing' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
echo "${passed} passed, ${failed} failed"
exit "$status"
