#!/usr/bin/env bash
# README command 2: install what is needed, build with warnings as errors,
# run the whole suite, then build with ASan+UBSan and run it again, then
# build the fs/, repo/ and cache/ unit tests with ThreadSanitizer and run them.
# Real servers a test needs are started and stopped by ctest fixtures (radosgw:
# tests/s3/CMakeLists.txt), once per build tree, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# CI builds three trees from scratch on 2 cores: unity builds (CMake joins
# the sources of a target, 16 at a time) parse each header once per batch
# instead of once per file, and the sanitizer trees keep line tables only
# (-g1: stack traces still name file and line).
unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)

echo "=== build (warnings are errors)"
scripts/build.sh build "${unity[@]}"
echo "=== test"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

if [[ "${CAIRN_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "=== build with ASan+UBSan"
  # -O1: ASan's recommended level; assertions stay on (Debug).
  scripts/build.sh build-asan "${unity[@]}" -DCAIRN_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
  echo "=== test under ASan+UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" --timeout 1800)

  # TSan: only the unit tests of the threaded layers (the fs/, repo/ and
  # cache/ gtests and what they link), not the shell tests (mounts, radosgw):
  # ctest runs in each of the three test directories, without label mount
  # (cairn_fuse_tests is built only so that ctest finds what it skips).
  # halt_on_error: the first race fails its test with the report;
  # scripts/tsan.supp says why liblmdb's page writes are suppressed.
  echo "=== build the fs/, repo/ and cache/ tests with TSan"
  scripts/build.sh build-tsan "${unity[@]}" -DCAIRN_SANITIZE=thread \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -- cairn_fs_tests cairn_fuse_tests cairn_repo_tests cairn_cache_tests
  echo "=== test fs/, repo/ and cache/ under TSan"
  tsan_options="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
  # GCC 12's TSan aborts ("unexpected memory mapping") on kernels that
  # randomise mmap with 32 bits (vm.mmap_rnd_bits); without ASLR it runs
  # anywhere. setarch -R where the container allows it.
  no_aslr=()
  if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi
  for d in cache repo fs; do
    (cd "build-tsan/tests/$d" && TSAN_OPTIONS=$tsan_options \
       "${no_aslr[@]}" ctest --output-on-failure -j "$jobs" --timeout 1800 -LE mount)
  done
fi
echo "=== all tests passed"
