#!/usr/bin/env bash
# Configures and builds cairn.
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...] [-- ninja targets...]
# Default BUILD_DIR is build/ (RelWithDebInfo, warnings as errors); without
# targets everything is built.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake_args=()
while (($#)) && [[ "$1" != -- ]]; do cmake_args+=("$1"); shift; done
shift || true  # the --, if any; what follows are targets
cmake -S . -B "$dir" -G Ninja -DCAIRN_WERROR=ON "${cmake_args[@]}" >/dev/null
ninja -C "$dir" "$@"
