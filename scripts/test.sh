#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build (all tests, including the 1 GiB memory
# test), then the ASan+UBSan build (all tests but the memory one, whose RSS limit is for the
# real allocator), then every fuzz target for COUNTYLINK_FUZZ_SECONDS (30) each.
# Exits non-zero on any failure. docs/reliability.md describes the long modes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

bash scripts/build.sh release
echo "== tests (release)"
ctest --test-dir build --output-on-failure --timeout 900 -j 2

if [ "${COUNTYLINK_SKIP_ASAN:-0}" != 1 ]; then
  bash scripts/build.sh asan
  echo "== tests (asan+ubsan)"
  ctest --test-dir build-asan --output-on-failure --timeout 900 -j 2 -E '^Memory\.'
fi

if [ "${COUNTYLINK_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzzing (${COUNTYLINK_FUZZ_SECONDS:-30} s per target)"
  bash scripts/fuzz.sh "${COUNTYLINK_FUZZ_SECONDS:-30}"
fi
