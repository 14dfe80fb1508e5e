#!/usr/bin/env bash
# Sets up, builds and runs every test (docs/reliability.md says what each part proves):
#   1. Release: all tests, including the 1 GiB memory test, the fuzz replays and the torture
#      tests at CI size (20 kill -9 rounds; scripts/torture.sh --long for release checks).
#   2. ASan+UBSan (LeakSanitizer on): all tests but the memory one, whose RSS limit is for the
#      real allocator. The servers the tests start run instrumented too and must exit cleanly.
#   3. TSan: the concurrency tests (group commit, blob store, index, queues, C-STORE, worklist,
#      forwarding, durability).
#   4. Every libFuzzer target for COUNTYLINK_FUZZ_SECONDS (30) seconds.
# COUNTYLINK_SKIP_ASAN / _TSAN / _FUZZ=1 skip a part. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}"

bash scripts/build.sh release
echo "== tests (release)"
ctest --test-dir build --output-on-failure --timeout 900 -j 2

if [ "${COUNTYLINK_SKIP_ASAN:-0}" != 1 ]; then
  bash scripts/build.sh asan
  echo "== tests (asan+ubsan+lsan)"
  ctest --test-dir build-asan --output-on-failure --timeout 900 -j 2 -E '^Memory\.'
fi

if [ "${COUNTYLINK_SKIP_TSAN:-0}" != 1 ]; then
  bash scripts/build.sh tsan countylink_unit_tests countylink_integration_tests
  echo "== concurrency tests (tsan)"
  ctest --test-dir build-tsan --output-on-failure --timeout 900 -j 2 \
    -R '^(GroupCommit|SqliteIndex|BlobStore|Durability|ReadingQueuesTest|CStore|Worklist|StorageCommitment|Find|Move|Get)\.|^Forward\.(Every|Stow|Perm)'
fi

if [ "${COUNTYLINK_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzzing (${COUNTYLINK_FUZZ_SECONDS:-30} s per target)"
  bash scripts/fuzz.sh "${COUNTYLINK_FUZZ_SECONDS:-30}"
fi
