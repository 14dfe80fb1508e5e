#!/usr/bin/env bash
# Builds CountyLink. Usage: scripts/build.sh [release|asan|tsan] [ninja targets...]
#   release -> build/        (Release, -O3)
#   asan    -> build-asan/   (Debug + AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan    -> build-tsan/   (Debug + ThreadSanitizer)
# Without targets, everything is built.
# Dependencies come from scripts/setup.sh (run it first, or use scripts/test.sh / scripts/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-release}"
case "$variant" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DCOUNTYLINK_SANITIZE=ON) ;;
  tsan)    dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=Debug -DCOUNTYLINK_TSAN=ON) ;;
  *) echo "usage: $0 [release|asan|tsan] [targets...]" >&2; exit 2 ;;
esac
# ccache keys on paths: a base dir makes a fresh clone in another place hit the same cache.
export CCACHE_BASEDIR="$PWD"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
# Two cores, and Asio/Beast translation units need ~1 GiB each: -j2 is right here.
ninja -C "$dir" -j "${JOBS:-2}" "${@:2}"
echo "build: $variant binaries in $dir/bin/"
