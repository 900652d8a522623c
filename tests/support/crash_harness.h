// Crash tests: run an operation in a forked child, SIGKILL it at a chosen
// moment, then let the parent reopen what the child left and check
// invariants (model: LevelDB's db/fault_injection_test.cc, with a real
// process kill instead of a simulated one, because LMDB does its own I/O).
//
//   for (uint64_t n = 1;; ++n) {
//     ChildEnd end = RunKilledAtOp(n, [&](LocalFiles& files) {
//       auto cache = BlobCache::Open(dir, limit, nullptr, &files);
//       ...                                    // the operation under test
//       return 0;
//     });
//     CheckInvariants();                       // in the parent, after the kill
//     if (!end.killed) break;                  // n passed the last operation
//   }
//
// Kill points: RunKilledAtOp kills before the n-th local-file operation of
// the child (a write is torn: half of it lands first); RunKilledAfter kills
// after a delay (a random moment when the delay comes from a seeded RNG).
// A process kill keeps everything already written (the page cache
// survives); for a power cut use FaultyLocalFiles::DropUnsyncedData.
//
// The child runs body and leaves with _exit(body's return value): no atexit
// handlers, no gtest teardown, and gtest assertions in body do not report
// (return non-zero instead). Fork from a single-threaded test: only the
// forking thread exists in the child.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/local_files.h"

namespace cairn {

// How a child ended.
struct ChildEnd {
  bool killed = false;  // by the harness's SIGKILL
  int signal = 0;       // another signal that ended it (0: none)
  int exit_code = -1;   // when it exited by itself
  // Ran to the end and returned 0.
  bool finished() const { return !killed && signal == 0 && exit_code == 0; }
  std::string Describe() const;  // "killed", "exit 3", "signal 11"
};

// Runs body in a forked child with a FaultyLocalFiles over the real file
// system that SIGKILLs the child just before its n-th operation (n >= 1;
// see FaultyLocalFiles::CrashAt). body does all its local-file I/O through
// the LocalFiles it is given.
ChildEnd RunKilledAtOp(uint64_t n, const std::function<int(LocalFiles&)>& body);

// Runs body in a forked child and SIGKILLs it after delay, unless it ended
// before.
ChildEnd RunKilledAfter(std::chrono::microseconds delay, const std::function<int()>& body);

// Runs body in a forked child to its end (to count its operations, say).
ChildEnd RunInChild(const std::function<int()>& body);

}  // namespace cairn
