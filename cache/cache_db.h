// CacheDb: the repository's local cache, one LMDB environment per repository
// under $XDG_CACHE_HOME/cairn/<repo-id>/ (doc/architecture.md). Everything in it can be
// rebuilt from the store, so it is opened with MDB_NOSYNC: a crash may lose
// the last transactions, never consistency.
//
// Tables:
//   blobs     blob id (32) -> BlobLocation (45 bytes, see cache_db.cc)
//   packs     pack id (32) -> pack size (fixed64)
//   segments  index segment id (32) -> "" (segments merged into blobs/packs)
//   snapshots snapshot id (32) -> the snapshot's plaintext (JSON)
//
// A cache miss is an empty optional, never an error (doc/architecture.md, "Layers").
// Thread safety: all methods may be called from any thread (MDB_NOTLS; LMDB
// serialises writers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/mapped_pages.h"
#include "common/status.h"

struct MDB_env;

namespace cairn {

struct BlobLocation {
  Id pack;
  uint32_t offset = 0;
  uint32_t length = 0;      // stored length
  uint32_t raw_length = 0;  // plaintext length
  uint8_t type = 0;         // repo's BlobType
  bool operator==(const BlobLocation&) const = default;
};

struct CachedBlob {
  Id id;
  BlobLocation loc;
};

class CacheDb {
 public:
  // Opens (creating) the environment in dir. map_size bounds the database
  // file; it only reserves address space.
  static Result<std::unique_ptr<CacheDb>> Open(const std::string& dir,
                                               uint64_t map_size = uint64_t{1} << 36);
  ~CacheDb();
  CacheDb(const CacheDb&) = delete;
  CacheDb& operator=(const CacheDb&) = delete;

  const std::string& dir() const { return dir_; }

  // Drops this process's mappings of the database pages it touched
  // (madvise MADV_DONTNEED on the shared map; the data stays in the file
  // and the page cache, and the next access maps it again). Without it a
  // walk of a million entries shows the whole database in the daemon's RSS.
  void ReleaseMappedPages() const;

  // --- blob index ---
  std::optional<BlobLocation> FindBlob(const Id& id) const;
  // Blobs per write transaction of AddSegment.
  static constexpr size_t kBlobsPerTxn = 8192;
  // Adds the blobs and packs of one index segment and marks it loaded, in
  // transactions of kBlobsPerTxn blobs, the packs in the first and the mark
  // in the last: a segment is marked only once all of its blobs are in.
  // blob_at(i) gives the i-th of count blobs; it is called once for each i,
  // in increasing order, while the write transaction of i's batch is open
  // (it must not write to this cache), so the caller may decode blobs on
  // demand instead of holding them all. Give them in id order: consecutive
  // puts then land on the same leaf pages.
  Status AddSegment(const Id& segment, size_t count,
                    const std::function<CachedBlob(size_t)>& blob_at,
                    std::span<const std::pair<Id, uint64_t>> packs);
  bool HasSegment(const Id& segment) const;
  Status ForEachSegment(const std::function<void(const Id&)>& fn) const;
  Status ForEachBlob(const std::function<void(const Id&, const BlobLocation&)>& fn) const;
  Status ForEachPack(const std::function<void(const Id& pack, uint64_t size)>& fn) const;
  std::optional<uint64_t> PackSize(const Id& pack) const;
  uint64_t BlobCount() const;
  // Empties blobs, packs and segments (before a full reload).
  Status ClearIndex();

  // --- snapshots ---
  Status PutSnapshot(const Id& id, ByteView plaintext);
  Status DeleteSnapshot(const Id& id);
  Status ForEachSnapshot(const std::function<void(const Id&, ByteView)>& fn) const;

 private:
  CacheDb(std::string dir, MDB_env* env, unsigned blobs, unsigned packs, unsigned segments,
          unsigned snapshots)
      : dir_(std::move(dir)),
        env_(env),
        blobs_(blobs),
        packs_(packs),
        segments_(segments),
        snapshots_(snapshots) {}

  Status ForEach(unsigned dbi, const std::function<void(ByteView, ByteView)>& fn) const;

  std::string dir_;
  MDB_env* env_;
  unsigned blobs_, packs_, segments_, snapshots_;  // MDB_dbi handles
  FileMappings map_;  // env_'s map of data.mdb
};

// The default cache directory for a repository id:
// $XDG_CACHE_HOME/cairn/<id>, else $HOME/.cache/cairn/<id>.
std::string DefaultCacheDir(const std::string& repo_id);

}  // namespace cairn
