#!/usr/bin/env bash
# Sets up, builds and starts countylinkd on its embedded default
# (DICOM 11112, AE COUNTYLINK, HTTP 8080, data ./var). Extra arguments go to countylinkd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
exec build/bin/countylinkd "$@"
