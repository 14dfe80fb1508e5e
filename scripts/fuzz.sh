#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) for a while: scripts/fuzz.sh [SECONDS_PER_TARGET]
#   default 30 s each (what CI runs); --hours H runs each target for H hours instead.
# Builds build-fuzz/ (clang, -fsanitize=fuzzer,address,undefined) first. The corpus each target
# grows is kept in build-fuzz/corpus/<target>/ and reused next time. A crash, leak, timeout or
# out-of-memory input is copied to tests/fuzz/regressions/<target>/ (commit it: the normal test
# suite replays every file there) and the script fails. Per-target figures go to
# build-fuzz/fuzz-summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
case "${1:-}" in
  --hours) seconds=$(( ${2:?--hours needs a number} * 3600 )) ;;
  "") ;;
  *) seconds="$1" ;;
esac
targets=(${FUZZ_TARGETS:-pdu dimse multipart config ecg part10 commitment find})

export CCACHE_BASEDIR="$PWD"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCOUNTYLINK_FUZZ=ON >/dev/null
ninja -C build-fuzz -j "${JOBS:-2}" fuzzers
build-fuzz/bin/countylink-fuzz-seeds build-fuzz/seeds >/dev/null

# Leaks are findings too; the fuzzer's own handlers report the rest.
export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
summary=build-fuzz/fuzz-summary.txt
: >"$summary"
failed=()
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t artifacts=build-fuzz/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*
  log=build-fuzz/fuzz-$t.log
  echo "== fuzz_$t for ${seconds}s"
  # Inputs up to 64 KiB reach every parser state; ECG files need more to get past headers.
  max_len=65536
  [ "$t" = ecg ] && max_len=262144
  status=0
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: bounded memory is a requirement.
  build-fuzz/bin/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "build-fuzz/seeds/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(find "$artifacts" -type f | wc -l)
  echo "$t executions=${runs:-0} seconds=$seconds corpus=$(find "$corpus" -type f | wc -l) findings=$found" |
    tee -a "$summary"
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    mkdir -p "tests/fuzz/regressions/$t"
    cp "$artifacts"/* "tests/fuzz/regressions/$t/" 2>/dev/null || true
    grep -E -A30 '^==[0-9]+==ERROR|runtime error|invariant broken|deadly signal' "$log" | head -60 || true
    echo "fuzz_$t FAILED (exit $status); input(s) saved in tests/fuzz/regressions/$t/, log $log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no findings"
