// BlobCache: a bounded local cache of STORED blob bytes (still encrypted and
// authenticated on every use by the reader: the disk never holds plaintext),
// for the mount's read path (--cache-dir, --cache-size).
//
// Layout under dir:
//   lock              flock()ed while open: one process per cache directory
//                     (the in-memory index below is not shared)
//   index/            its own LMDB environment, table "entries":
//                     blob id (32) -> stored size fixed64 | last-use tick fixed64
//   xx/<hex id>       one file per blob, xx = first two hex digits (256
//                     subdirectories), written to a temporary name and renamed.
// One file per blob rather than slab files: eviction frees exactly the
// evicted bytes at once (unlink) with no compaction, a damaged file costs one
// blob, and blobs are large (~1 MiB) so per-file overhead is small.
//
// Limit: bytes() — the sum of the cached files' sizes rounded up to 4 KiB
// blocks (what they take on disk) — never exceeds limit_bytes, even while
// Puts run concurrently: a Put reserves its bytes (evicting least recently
// used blobs first) under the lock before its file is written, and an
// evicted file is unlinked before its bytes are released. Files that are not
// in the index (a crash between writing a file and committing its entry) are
// deleted at Open, so the limit also holds across crashes.
//
// Recency: every Get bumps the blob's tick in memory; ticks are written to
// LMDB in batches (and at destruction), so a restart keeps the LRU order up
// to the last batch.
//
// Errors are never returned to readers: a missing, truncated or unreadable
// file is a miss (logged warning) and its entry is dropped.
//
// Thread safety: every method may be called concurrently. mu_ guards the
// in-memory index; file reads and writes run without it, except unlinks of
// evicted files, which run under it so the limit holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/log.h"
#include "common/status.h"

struct MDB_env;

namespace cairn {

class BlobCache {
 public:
  // Its own LMDB environment + blob files under dir (created if needed);
  // never more than limit_bytes of blob data on disk (evicts least recently
  // used). logger may be null (warnings are then dropped); it must outlive
  // the cache. Locked when another BlobCache (in any process) has dir open;
  // IOError naming dir when it cannot be created or opened.
  static Result<std::unique_ptr<BlobCache>> Open(const std::string& dir, uint64_t limit_bytes,
                                                 Logger* logger = nullptr);
  ~BlobCache();
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  // The STORED (encrypted) bytes; miss = nullopt.
  std::optional<Bytes> Get(const Id& blob);
  // Best effort; errors logged, not returned. A blob larger than the limit,
  // or one already cached, is not stored.
  void Put(const Id& blob, ByteView stored);
  bool Contains(const Id& blob) const;
  // Drops a blob (e.g. one whose bytes failed authentication). No-op when
  // absent.
  void Remove(const Id& blob);
  uint64_t bytes() const;  // bytes held now (reserved by running Puts included)
  uint64_t limit() const { return limit_; }
  size_t count() const;    // blobs held now
  const std::string& dir() const { return dir_; }

  // Space a blob of `size` stored bytes is charged (whole 4 KiB blocks).
  static uint64_t Charge(uint64_t size) { return (size + 4095) / 4096 * 4096; }

 private:
  struct Entry {
    uint64_t size = 0;              // stored bytes
    uint64_t tick = 0;              // last use
    bool ready = false;             // file written and entry committed
    std::list<Id>::iterator lru;    // position in lru_ (front = oldest)
  };

  BlobCache(std::string dir, uint64_t limit, Logger* logger, int lock_fd, MDB_env* env,
            unsigned dbi);
  Status Load();                 // index -> memory, orphan files removed
  std::string PathOf(const Id& id) const;
  // Evicts ready entries, oldest first, until `need` more bytes fit.
  // False when they cannot fit. Caller holds mu_.
  bool MakeRoomLocked(uint64_t need);
  void EraseLocked(const Id& id, bool unlink_file);  // caller holds mu_
  void Warn(const std::string& msg) const;
  Status PutEntry(const Id& id, uint64_t size, uint64_t tick);
  Status DeleteEntry(const Id& id);
  void FlushTicks();             // writes dirty ticks to LMDB

  const std::string dir_;
  const uint64_t limit_;
  NullLogger null_logger_;
  Logger* logger_;
  int lock_fd_;  // holds the flock on dir/lock
  MDB_env* env_;
  unsigned dbi_;

  mutable std::mutex mu_;
  std::unordered_map<Id, Entry, IdHash> entries_;  // GUARDED_BY(mu_)
  std::list<Id> lru_;                               // GUARDED_BY(mu_): oldest first
  uint64_t used_ = 0;                               // GUARDED_BY(mu_): charged bytes
  uint64_t tick_ = 0;                               // GUARDED_BY(mu_)
  std::vector<Id> dirty_;                           // GUARDED_BY(mu_): ticks to persist
  std::atomic<uint64_t> serial_{0};  // temporary file names
  std::mutex flush_mu_;  // serialises FlushTicks; taken before mu_, never under it
};

}  // namespace cairn
