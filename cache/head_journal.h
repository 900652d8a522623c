// HeadJournal: the durable half of the mount's writable head/ (doc/format.md,
// "Head journal"): an LMDB environment in <staging dir>/journal holding
// every entry of head/ that differs from the snapshot head/ started from.
// The cache layer does not know what an entry is: records are opaque bytes
// that fs/head_record.h encodes. Tables:
//
//   meta     short ASCII key -> value ("format", "base", "next_ino",
//            "boot_id", "series")
//   inodes   inode number (big-endian u64) -> inode record
//   dirents  parent inode (big-endian u64) | name -> child inode
//            (big-endian u64; 0 is a whiteout: the name of the base
//            snapshot is deleted in head/)
//
// Acknowledgement point: a change of head/ is answered only after Commit
// returned OK. Commit uses MDB_NOSYNC, so its effect survives a kill -9 of
// the daemon (it is in the kernel's page cache) but not a power cut; Sync
// (fsync, fsyncdir, seal, unmount, and a timer) makes everything committed
// so far durable. Unlike the other caches this one is NOT rebuilt from the
// store: losing it loses what was written to head/ and not yet sealed.
//
// Thread safety: every method may be called from any thread (MDB_NOTLS;
// LMDB serialises writers, Commit calls are atomic with respect to each
// other).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

struct MDB_env;

namespace cairn {

class HeadJournal {
 public:
  // The format this code writes into meta "format"; Open refuses a larger
  // one (Unsupported, naming the journal and the fix: a newer cairn).
  static constexpr uint32_t kFormat = 1;

  // Opens (creating) the environment in dir (created with mode 0700).
  static Result<std::unique_ptr<HeadJournal>> Open(const std::string& dir,
                                                   uint64_t map_size = uint64_t{1} << 36);
  ~HeadJournal();
  HeadJournal(const HeadJournal&) = delete;
  HeadJournal& operator=(const HeadJournal&) = delete;

  const std::string& dir() const { return dir_; }

  // One atomic group of changes: Commit applies all of them in one write
  // transaction, in the order they were added, or none.
  class Batch {
   public:
    void PutMeta(std::string_view key, ByteView value);
    void PutInode(uint64_t ino, ByteView record);
    void DeleteInode(uint64_t ino);  // absent: no error
    // child 0: a whiteout.
    void PutDirent(uint64_t parent, std::string_view name, uint64_t child);
    void DeleteDirent(uint64_t parent, std::string_view name);  // absent: no error
    // Deletes every inode and dirent (the meta table stays): a seal that
    // made everything part of the new base.
    void ClearEntries();
    bool empty() const { return ops_.empty(); }
    size_t size() const { return ops_.size(); }

   private:
    friend class HeadJournal;
    enum class Kind : uint8_t { kMeta, kPutInode, kDelInode, kPutDirent, kDelDirent, kClear };
    struct Op {
      Kind kind;
      uint64_t a = 0, b = 0;  // ino / parent, child
      std::string key;        // meta key or dirent name
      Bytes value;
    };
    std::vector<Op> ops_;
  };

  // Applies batch atomically (MDB_NOSYNC: see above). NoSpace when the disk
  // or the map is full (nothing of the batch is applied then).
  Status Commit(const Batch& batch);
  // Makes every committed batch durable (mdb_env_sync with force).
  Status Sync();

  // --- reading (at start: the tree loads everything it needs) ---
  Result<std::optional<Bytes>> GetMeta(std::string_view key) const;
  // fn for every inode record in ascending number order; an error from fn
  // stops the scan and is returned.
  Status ForEachInode(const std::function<Status(uint64_t ino, ByteView record)>& fn) const;
  // fn for every dirent, by parent then name (bytes order).
  Status ForEachDirent(
      const std::function<Status(uint64_t parent, std::string_view name, uint64_t child)>& fn)
      const;
  // Counts (status, tests).
  uint64_t InodeCount() const;
  uint64_t DirentCount() const;

 private:
  HeadJournal(std::string dir, MDB_env* env, unsigned meta, unsigned inodes, unsigned dirents)
      : dir_(std::move(dir)), env_(env), meta_(meta), inodes_(inodes), dirents_(dirents) {}

  std::string dir_;
  MDB_env* env_;
  unsigned meta_, inodes_, dirents_;  // MDB_dbi handles
};

}  // namespace cairn
