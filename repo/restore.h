// Restore: writes a snapshot (or part of it) to a local directory with all
// its metadata. Files are restored in parallel in the order their blobs lie
// in the packs, small files of one pack sharing one ranged read; every blob
// is authenticated (AES-GCM) and every file's SHA-256 is checked. Holes stay
// holes, hardlinks are linked, times are set last (directories deepest
// first).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/local_files.h"
#include "common/status.h"
#include "repo/repository.h"
#include "repo/snapshot.h"

namespace cairn {

struct RestoreOptions {
  std::string target;                 // created when missing
  std::vector<std::string> includes;  // restore only matching paths (and their parents)
  std::vector<std::string> excludes;  // same syntax as backup's --exclude
  size_t threads = 0;                 // 0: two per core
  bool set_ownership = true;          // chown when running as root
  // Creates the directories and writes the files (null: LocalFiles::Posix());
  // tests inject a faulty one. Must outlive the restore.
  LocalFiles* files = nullptr;
};

struct RestoreProgress {
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
  std::atomic<uint64_t> files_total{0}, bytes_total{0};
};

class RestoreObserver {
 public:
  virtual ~RestoreObserver() = default;
  // The item could not be restored (or was removed after failing its check).
  virtual void Failed(const std::string& path, const Status& why) = 0;
};

struct RestoreStats {
  uint64_t files = 0, dirs = 0, others = 0, bytes = 0;
  uint64_t failed = 0;
  bool corruption = false;  // some failure was a Corruption (exit 13)
};

// Fatal errors (target disk full, store unreachable) abort the restore and
// return an error; per-item failures are reported and counted in stats.
Result<RestoreStats> RunRestore(Repository& repo, const Snapshot& snap, const RestoreOptions& opts,
                                RestoreProgress* progress, RestoreObserver* observer,
                                const std::atomic<bool>* cancel);

}  // namespace cairn
