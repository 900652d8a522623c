// Repository and snapshot statistics for `cairn stats`.
#pragma once

#include <vector>

#include "common/status.h"
#include "repo/repository.h"
#include "repo/snapshot.h"

namespace cairn {

struct RepoStats {
  uint64_t snapshots = 0;
  uint64_t files = 0;           // file entries over the snapshots counted
  uint64_t logical_bytes = 0;   // their sizes summed (what a restore writes)
  uint64_t unique_blobs = 0;    // data + tree blobs referenced, each once
  uint64_t raw_bytes = 0;       // plaintext of those blobs
  uint64_t stored_bytes = 0;    // their stored (compressed, encrypted) size
  uint64_t repo_packs = 0;      // whole repository
  uint64_t repo_pack_bytes = 0;
  uint64_t repo_blobs = 0;
  double dedup_ratio() const { return raw_bytes ? double(logical_bytes) / double(raw_bytes) : 0; }
  double compression_ratio() const {
    return stored_bytes ? double(raw_bytes) / double(stored_bytes) : 0;
  }
};

// Counts over the given snapshots (all of them when the list is empty).
Result<RepoStats> ComputeStats(Repository& repo, const std::vector<Snapshot>& snaps);

}  // namespace cairn
