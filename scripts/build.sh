#!/usr/bin/env bash
# Configures and builds cairn. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Default BUILD_DIR is build/ (RelWithDebInfo, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -G Ninja -DCAIRN_WERROR=ON "$@" >/dev/null
ninja -C "$dir"
