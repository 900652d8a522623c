// Check: verifies the repository's structure and, optionally, its data.
// Structure: every index segment and snapshot loads and authenticates; every
// pack the index names exists with the size the index says; every tree
// reachable from a snapshot loads and decodes; every blob a tree references
// is in the index; leftovers of interrupted writes are warnings. --read-data (or a subset of the packs): every pack's
// SHA-256 matches its name, its header matches the index, and every blob
// authenticates, decompresses and hashes to its id.
#pragma once

#include <functional>
#include <string>

#include "backend/local_dir_store.h"
#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct CheckOptions {
  bool read_data = false;
  double read_fraction = 1.0;  // with read_data: share of packs to read (0, 1]
  size_t threads = 0;          // 0: two per core
};

struct CheckResult {
  uint64_t snapshots = 0, trees = 0, data_blobs = 0, packs = 0, packs_read = 0;
  uint64_t errors = 0;    // problems that mean data is damaged or missing
  uint64_t warnings = 0;  // harmless findings (unreferenced packs)
  uint64_t incomplete_writes = 0;  // temporary files of interrupted writes (warnings)
};

// The warning for a leftover of an interrupted write (ListIncompleteWrites),
// shared by check and index rebuild: its name, size, age
// and what to do.
std::string DescribeIncompleteWrite(const IncompleteWrite& w, int64_t now_ns);

// report gets one line per finding, from any thread (calls are serialised).
// The result counts findings; an error Status means check itself could not
// run (store unreachable, wrong key).
Result<CheckResult> RunCheck(Repository& repo, const CheckOptions& opts,
                             const std::function<void(bool is_error, const std::string&)>& report,
                             const std::atomic<bool>* cancel);

}  // namespace cairn
