#!/usr/bin/env bash
# Runs the torture tests (ctest label "torture") against the Release build:
#   scripts/torture.sh          CI size: 20 kill -9 rounds, then disk full, faulty peers, hostile
#   scripts/torture.sh --long   release check: 500 rounds (COUNTYLINK_TORTURE_ROUNDS overrides)
# The full output goes to build/torture.log; the figures lines ("torture: rounds=... lost=...",
# "hostile: ...") are shown at the end. docs/reliability.md records the last long run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --long ]; then
  export COUNTYLINK_TORTURE_ROUNDS="${COUNTYLINK_TORTURE_ROUNDS:-500}"
fi
bash scripts/build.sh release countylink_torture_tests
status=0
ctest --test-dir build -L torture --output-on-failure --timeout 36000 -V >build/torture.log 2>&1 ||
  status=$?
grep -E '(torture|hostile): |tests passed|tests failed' build/torture.log || true
[ "$status" -eq 0 ] || echo "torture: failures, see build/torture.log" >&2
exit "$status"
