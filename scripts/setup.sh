#!/usr/bin/env bash
# Installs every build, run and test dependency of CountyLink from Debian packages.
# Idempotent: packages already present are skipped, `apt-get update` runs at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-program-options1.81-dev
  libdcmtk-dev dcmtk
  libzstd-dev zstd zlib1g-dev
  libssl-dev openssl
  libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libxml2-dev
  dicom3tools prometheus orthanc faketime
  clang-format curl procps python3
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The JavaScript DICOMweb client the tests drive (npm registry; versions pinned by the lock).
install_node_test_deps() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/dicomweb-client"
  if [ ! -d "$dir/node_modules/dicomweb-client" ]; then
    command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  install_node_test_deps
  exit 0
fi

echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root to install packages (or install them yourself: ${missing[*]})" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_node_test_deps
echo "setup: done"
