#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, lints, runs every test with coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx biome check .
npx c8 --reporter=text-summary --reporter=lcov --exclude 'dist/test/**' --exclude 'node_modules/**' \
  npx mocha --recursive "${@:-dist/test/**/*.test.js}"
