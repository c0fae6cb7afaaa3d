#!/usr/bin/env bash
# The whole test suite: install what the tests need (idempotent, as root), type-check, run the tests.
# Slow suites (soaks, long benches) run only with PORTUNUS_SLOW_TESTS=1; the appliance boot test runs
# every time (a few minutes) unless PORTUNUS_SKIP_APPLIANCE_BOOT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npx tsc --noEmit -p .
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
exec npx tsx --test --test-reporter=spec "${files[@]}"
