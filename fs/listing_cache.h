// ListingCache: listings of small directories the tree prefetcher made
// before anyone asked, and the set of directories listed in this mount.
//
// A walker (find, tar, rsync) lists a directory right after the listing
// of its parent. The prefetcher (fs/tree_prefetcher.h) decodes and binds
// such subdirectories ahead; for a small one it keeps the finished listing
// here, so the walker's first READDIRPLUS of it is answered without a scan,
// decode and probe of every entry (then the kernel keeps the listing).
//
// Contract:
//   - Put keeps a listing for directory ino unless one is kept already;
//     Take hands it out once (removed). Beyond max_entries entries in all,
//     the oldest listings are dropped (a listing is only a hint).
//   - FirstListing(ino) is true the first time ino is listed or prepared
//     in this mount (among the last listed_kept directories), false after:
//     a directory decoded by an earlier mount is prepared ahead too, but
//     never one listed already.
//
// Thread safety: all methods may be called concurrently (one mutex, held
// for O(1) work per call, amortized; never while calling anything else).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fs/tree.h"
#include "fs/tree_prefetcher.h"

namespace cairn {

class ListingCache {
 public:
  struct Listing {
    std::vector<FsDirEntry> entries;
    std::vector<TreePrefetcher::Job> subdirs;  // to prefetch when it is listed
  };

  // 32k entries of ~150 bytes and 64k listed directories (~3 MB): bounded
  // however large the snapshot.
  explicit ListingCache(size_t max_entries = 32768, size_t listed_kept = 65536)
      : max_entries_(max_entries), listed_kept_(listed_kept) {}

  bool FirstListing(uint64_t ino);
  void Put(uint64_t ino, Listing listing);
  std::optional<Listing> Take(uint64_t ino);

  // Listings handed out by Take (tests, the unmount log).
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }
  // Entries kept now (tests).
  size_t entries() const;

 private:
  const size_t max_entries_, listed_kept_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Listing> ready_;  // GUARDED_BY(mu_): by directory inode
  std::deque<uint64_t> ready_order_;             // GUARDED_BY(mu_): oldest first
  size_t ready_entries_ = 0;                     // GUARDED_BY(mu_)
  std::unordered_set<uint64_t> listed_;          // GUARDED_BY(mu_)
  std::deque<uint64_t> listed_order_;            // GUARDED_BY(mu_): oldest first
  std::atomic<uint64_t> served_{0};
};

}  // namespace cairn
