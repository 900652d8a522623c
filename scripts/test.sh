#!/usr/bin/env bash
# README command 2: install what is needed, build with warnings as errors,
# run the whole suite, then build with ASan+UBSan and run it again.
# Real servers a test needs are started and stopped by ctest fixtures (radosgw:
# tests/s3/CMakeLists.txt), once per build tree, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "=== build (warnings are errors)"
scripts/build.sh build
echo "=== test"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

if [[ "${CAIRN_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "=== build with ASan+UBSan"
  scripts/build.sh build-asan -DCAIRN_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
  echo "=== test under ASan+UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" --timeout 1800)
fi
echo "=== all tests passed"
