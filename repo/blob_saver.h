// BlobSaver: the write path of backup (and, later, seal). It dedups blobs
// against the index and against what this session already saved, fills
// separate data and tree packs, uploads full packs on background threads and
// writes an index segment every `index_max_packs` packs or `index_interval`,
// so an interrupted run leaves reusable, indexed packs behind.
//
// Order of durability: a pack is stored before any index segment names it,
// and Flush() returns only after every pack and segment is stored; the
// caller writes the snapshot after that.
//
// A killed run: each pack is also recorded in the cache's pack journal
// (repo/pack_journal.h), from before its Put until a segment names it. The constructor
// first indexes what a killed writer recorded there (packs the store still
// holds), so the dedup of this run already sees them.
//
// Thread-safe. Lock order: type_mu_[t] -> (nothing); index_mu_ -> (nothing);
// known_mu_ -> (nothing). No lock is held during encoding or I/O.
#pragma once

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/id.h"
#include "common/object_pool.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/pack_journal.h"
#include "repo/repository.h"

namespace cairn {

// Pooled BlobCodecs, so threads that come and go (pool workers, tree
// finalisation) reuse zstd contexts instead of creating them per call.
using CodecPool = ObjectPool<BlobCodec>;

struct BlobSaverOptions {
  size_t upload_threads = 2;
  size_t max_queued_packs = 1;  // full packs waiting for upload (memory bound)
  size_t index_max_packs = 64;
  int64_t index_interval_ns = int64_t{180} * 1000000000;
  // Keep the pack journal in the repository's cache directory (and index a
  // killed writer's packs from it at construction).
  bool journal = true;
};

struct BlobSaverStats {
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t raw_bytes = 0;     // plaintext of blobs added
  uint64_t stored_bytes = 0;  // bytes of packs written
  uint64_t packs = 0;
  uint64_t index_segments = 0;
  uint64_t recovered_packs = 0;  // a killed writer's packs indexed at start
};

class BlobSaver {
 public:
  // With opts.journal, indexes the packs a killed writer left in the pack
  // journal first (one Head per pack, one index segment); failures there
  // are logged and only cost the reuse of those packs.
  BlobSaver(Repository& repo, const BlobSaverOptions& opts = {});
  ~BlobSaver();  // waits for uploads in flight; writes nothing more
  BlobSaver(const BlobSaver&) = delete;
  BlobSaver& operator=(const BlobSaver&) = delete;

  // True when the blob is neither in the index nor saved in this session;
  // the blob is then claimed and the caller must Add it.
  bool Claim(const Id& id);
  // True when the blob is known (index or this session); does not claim.
  bool Known(const Id& id);
  // Adds a claimed, encoded blob. Returns the first upload error, if any.
  Status Add(BlobType type, const Id& id, ByteView stored, uint32_t raw_length);
  // Claim + encode + Add. Returns whether the blob was new.
  Result<bool> Save(BlobType type, const Id& id, ByteView plaintext, BlobCodec& codec);

  // Stores partial packs, waits for all uploads and writes the last index
  // segment. No Add after Flush.
  Status Flush();
  BlobSaverStats stats() const;
  CodecPool& codecs() { return codecs_; }

 private:
  struct TypeState {
    std::mutex mu;
    std::unique_ptr<PackBuilder> builder;  // GUARDED_BY(mu)
  };
  void Enqueue(std::unique_ptr<PackBuilder> full);
  void UploadLoop();
  Status UploadOne(PackBuilder& builder, BlobCodec& codec);
  Status WriteSegmentLocked(BlobCodec& codec);  // REQUIRES(index_mu_)
  void OpenJournal();                            // constructor only
  void JournalFailedLocked(const Status& s);     // REQUIRES(index_mu_)
  void SetError(const Status& s);
  Status error() const;

  Repository& repo_;
  BlobSaverOptions opts_;
  CodecPool codecs_;
  TypeState types_[2];

  std::mutex known_mu_;
  std::unordered_set<Id, IdHash> known_;  // GUARDED_BY(known_mu_)

  BoundedQueue<std::unique_ptr<PackBuilder>> queue_;
  std::vector<std::thread> uploaders_;

  std::mutex index_mu_;
  IndexSegment pending_;            // GUARDED_BY(index_mu_)
  int64_t last_segment_ns_;         // GUARDED_BY(index_mu_)
  // Packs whose Put is under way (a list: UploadOne holds an iterator).
  std::list<IndexPack> storing_;          // GUARDED_BY(index_mu_)
  // Records the packs of storing_ and pending_, and those of failed Puts
  // until the next segment (null: no journal this run).
  std::unique_ptr<PackJournal> journal_;  // GUARDED_BY(index_mu_)
  bool journal_warned_ = false;           // GUARDED_BY(index_mu_)

  mutable std::mutex err_mu_;
  Status first_error_;              // GUARDED_BY(err_mu_)
  std::atomic<bool> failed_{false};
  bool flushed_ = false;

  std::atomic<uint64_t> data_blobs_{0}, tree_blobs_{0}, raw_bytes_{0}, stored_bytes_{0},
      packs_{0}, segments_{0}, recovered_{0};
};

}  // namespace cairn
