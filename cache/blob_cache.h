// BlobCache: a bounded local cache of STORED blob bytes (still encrypted and
// authenticated on every use by the reader: the disk never holds plaintext),
// for the mount's read path (--cache-dir, --cache-size).
//
// Layout under dir:
//   lock              flock()ed while open: one process per cache directory
//                     (slab sizes and recency live in this process's memory)
//   index/            its own LMDB environment with three tables:
//                       blobs    blob id (32) -> slab | offset | size (3 x fixed64)
//                       members  slab (big-endian u64) || blob id -> ""  (for eviction)
//                       slabs    slab (big-endian u64) -> last-use tick fixed64
//   slabs/<slab>      append-only slab files (slab = 16 hex digits, never reused)
//
// Why slabs and not one file per blob: creating a file costs about 1 ms on
// this machine's ext4 (measured: 1000 creates of 4 KiB files take 1.0-1.3 s,
// against 16 ms for 1000 unlinks), which would cap the cache's fill rate at
// ~1000 blobs/s; a slab is one file for many blobs. Eviction is per slab
// (least recently used first, a slab's tick being its latest Get or Put), so
// it frees exactly one file's bytes at once with no compaction; slabs are
// limit/16 (clamped to 64 KiB..64 MiB), so one eviction drops ~1/16 of the
// cache at most.
//
// Limit: bytes() -- the sum of the slab files' reserved sizes -- never
// exceeds limit_bytes, even while Puts run concurrently: a Put reserves its
// range (evicting least recently used slabs first) under the lock before
// writing it, and an evicted slab is unlinked before its bytes are released.
// Slabs with writes in progress are never evicted.
//
// Crash safety: the index is written after a blob's bytes and opened with
// MDB_NOSYNC (everything can be refetched). Open drops entries whose slab is
// missing or too short and deletes slab files no entry references; new
// blobs go to a new slab, never after a possibly torn tail.
//
// Errors are never returned to readers: a missing, truncated or unreadable
// slab is a miss (logged warning) and the entry is dropped. Remove() drops a
// blob that failed authentication; its bytes stay counted until its slab is
// evicted.
//
// Local files: slab reads, writes and unlinks go through a LocalFiles
// (common/local_files.h; the real file system unless a test injects a
// faulty one). A failed or short slab write leaves no index entry, so a
// failed fill is a later miss, never wrong bytes. The LMDB index does its
// own I/O.
//
// Thread safety: every method may be called concurrently. mu_ guards the
// slab table; LMDB serialises its own writers; file reads and writes run
// without mu_, except unlinks of evicted slabs.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/file_io.h"
#include "common/id.h"
#include "common/local_files.h"
#include "common/log.h"
#include "common/status.h"

struct MDB_env;

namespace cairn {

class BlobCache {
 public:
  // Its own LMDB environment + slab files under dir (created if needed);
  // never more than limit_bytes of blob data on disk (evicts least recently
  // used). logger may be null (warnings are then dropped); it must outlive
  // the cache. files (null: LocalFiles::Posix()) does the slab I/O and must
  // outlive the cache. Locked when another BlobCache (in any process) has
  // dir open; IOError naming dir when it cannot be created or opened.
  static Result<std::unique_ptr<BlobCache>> Open(const std::string& dir, uint64_t limit_bytes,
                                                 Logger* logger = nullptr,
                                                 LocalFiles* files = nullptr);
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
  uint64_t bytes() const;  // bytes held now (ranges reserved by running Puts included)
  uint64_t limit() const { return limit_; }
  uint64_t slab_bytes() const { return slab_bytes_; }
  size_t count() const;  // blobs held now
  const std::string& dir() const { return dir_; }

  // Where a cached blob's bytes lie, for diagnostics and tests.
  struct Location {
    std::string path;  // the slab file
    uint64_t offset = 0, size = 0;
  };
  std::optional<Location> Locate(const Id& blob) const;

 private:
  struct Slab {
    uint64_t size = 0;   // bytes reserved (the file may be shorter while writes run)
    uint64_t tick = 0;   // last use
    int pending = 0;     // Puts writing into it now
    bool dirty = false;  // tick not yet in LMDB
  };
  struct Entry {
    uint64_t slab = 0, offset = 0, size = 0;
  };

  BlobCache(std::string dir, uint64_t limit, Logger* logger, LocalFiles& files, Fd lock,
            MDB_env* env, unsigned blobs, unsigned members, unsigned slabs);
  Status Load();
  std::string SlabPath(uint64_t slab) const;
  std::optional<Entry> Find(const Id& blob) const;  // the index entry, if any
  // Evicts idle slabs, least recently used first, until `need` more bytes
  // fit; the ids of evicted slabs are appended to evicted. False when they
  // cannot fit. Caller holds mu_.
  bool MakeRoomLocked(uint64_t need, std::vector<uint64_t>& evicted);
  void EvictLocked(uint64_t slab, std::vector<uint64_t>& evicted);  // caller holds mu_
  // Deletes the index entries of evicted slabs (after mu_ is released).
  void DropSlabEntries(const std::vector<uint64_t>& slabs);
  void DropEntry(const Id& blob, const Entry& e);
  void Warn(const std::string& msg) const;
  void FlushTicks();  // writes dirty slab ticks to LMDB

  const std::string dir_;
  const uint64_t limit_;
  const uint64_t slab_bytes_;  // a slab takes new blobs until it holds this much
  NullLogger null_logger_;
  Logger* logger_;
  LocalFiles& files_;
  Fd lock_;  // holds the flock on dir/lock
  MDB_env* env_;
  unsigned blobs_, members_, slabs_dbi_;  // MDB_dbi handles

  mutable std::mutex mu_;
  std::map<uint64_t, Slab> slabs_;  // GUARDED_BY(mu_)
  uint64_t active_ = 0;             // GUARDED_BY(mu_): slab taking new blobs (0: none yet)
  uint64_t next_slab_ = 1;          // GUARDED_BY(mu_)
  uint64_t used_ = 0;               // GUARDED_BY(mu_): sum of slab sizes
  mutable uint64_t tick_ = 0;       // GUARDED_BY(mu_)
  mutable uint64_t gets_since_flush_ = 0;  // GUARDED_BY(mu_)
  std::mutex flush_mu_;  // serialises FlushTicks; taken before mu_, never under it
};

}  // namespace cairn
