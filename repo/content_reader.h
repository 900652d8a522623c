// ContentReader: the mount's read path. Reads byte ranges of stored files:
// binary search of the file's extents, decoded blobs from a bounded RAM LRU,
// else stored bytes from the disk BlobCache (authenticated and decrypted on
// every hit), else ranged GETs of packs with adjacent blobs of one pack
// coalesced into one GET. Sequential reads of a File are detected and read
// ahead in a window that doubles (1 MiB up to max_readahead_bytes) while
// they stay sequential, fetched in parallel on fetch_threads (a read is
// sequential when it starts at 0 or exactly where one of the last 8 reads
// ended, so the kernel's slightly reordered parallel reads still count;
// random reads trigger no read-ahead). Concurrent readers of one blob share
// one fetch. Blobs fetched from the store are written to the disk cache by
// one background thread (see FlushDiskCache).
//
// Thread safety: ContentReader is thread-safe. A File may be read from
// several threads at once (the kernel issues parallel reads on one handle);
// its sequential-read state has its own lock. File::mu_, ContentReader::mu_
// and put_mu_ are never held together, and none is held while fetching,
// decoding or copying.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/blob_cache.h"
#include "common/object_pool.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/repository.h"
#include "repo/tree.h"

namespace cairn {

struct ContentReaderOptions {
  uint64_t memory_cache_bytes = 64 << 20;  // decoded blobs kept in RAM
  size_t fetch_threads = 8;                // parallel ranged GETs / read-ahead
  uint64_t max_readahead_bytes = 64 << 20;
  // Stored blobs waiting for the disk cache's writer thread at most; more
  // are not cached (see FlushDiskCache). Memory: this, plus
  // memory_cache_bytes, plus read-ahead in flight (<= memory_cache_bytes / 2).
  uint64_t max_pending_cache_writes = 32 << 20;
};

// Counters for tests, benchmarks and statfs-like reporting. Monotonic.
struct ContentReaderStats {
  uint64_t ram_hits = 0;      // blobs found in the RAM cache (by reads and read-ahead)
  uint64_t disk_hits = 0;     // blobs served from the disk cache
  uint64_t store_gets = 0;    // ranged GETs issued
  uint64_t store_blobs = 0;   // blobs fetched by those GETs
  uint64_t store_bytes = 0;   // bytes fetched by those GETs
  uint64_t readahead_blobs = 0;  // blobs fetched ahead of the reader
  uint64_t ram_bytes = 0;        // decoded bytes in the RAM cache now (not monotonic)
  uint64_t disk_puts = 0;        // blobs written to the disk cache
  uint64_t disk_puts_dropped = 0;  // not written: the writer was too far behind
};

class ContentReader {
 public:
  // repo and disk_cache (may be null) must outlive the reader.
  ContentReader(const Repository& repo, BlobCache* disk_cache, const ContentReaderOptions& opts);
  // Waits for read-ahead fetches still running.
  ~ContentReader();
  ContentReader(const ContentReader&) = delete;
  ContentReader& operator=(const ContentReader&) = delete;

  // One open file: extent offsets + sequential-read state. Cheap to create;
  // holds no file descriptor. Must not outlive its ContentReader.
  class File {
   public:
    uint64_t size() const { return size_; }
    const std::string& what() const { return what_; }
    // The current read-ahead window in bytes (0: reads look random).
    uint64_t readahead_window() const {
      std::lock_guard<std::mutex> lock(mu_);
      return window_;
    }

    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

   private:
    friend class ContentReader;
    File(const Node& node, std::string what, std::atomic<int>* streams);
    // Starts or stops counting this file among the reader's sequential
    // streams. Caller holds mu_.
    void SetStreamingLocked(bool on);

    std::atomic<int>* const streams_;  // the reader's count of streams

    const std::string what_;
    const uint64_t size_;
    std::vector<Extent> extents_;
    std::vector<uint64_t> starts_;  // starts_[i]: file offset of extents_[i]; sorted
    uint64_t covered_ = 0;          // bytes the extents cover (== size_ unless damaged)

    mutable std::mutex mu_;
    // Sequential detection and the read-ahead window. GUARDED_BY(mu_).
    // Ends of the last reads (ring). A read that starts where one of them
    // ended, or at 0, continues a sequential stream; the kernel's parallel
    // read-ahead requests may arrive slightly out of order, so more than the
    // last one is kept.
    std::array<uint64_t, 8> recent_ends_{};
    size_t recent_next_ = 0;
    int random_run_ = 0;         // consecutive reads that continued nothing
    uint64_t window_ = 0;        // current read-ahead window (0: none)
    bool streaming_ = false;     // counted in *streams_
    uint64_t ahead_until_ = 0;   // read-ahead scheduled up to this offset
    std::unordered_set<Id, IdHash> logged_;  // blobs whose failure was logged
  };

  std::unique_ptr<File> Open(const Node& file, std::string what /*path, for messages*/);

  // Reads up to out.size() bytes at offset; returns the count (short only at
  // EOF). Holes read as zeros. Every byte returned was authenticated. On a
  // missing/corrupt blob: Corruption/NotFound naming `what`, blob and pack,
  // and one log line (repo.logger()).
  Result<size_t> Read(File& f, uint64_t offset, std::span<uint8_t> out);

  // "cached" when every blob of the file is in the RAM or disk cache, else "stored".
  std::string State(const Node& file) const;

  ContentReaderStats stats() const;

  // Blobs fetched from the store are written to the disk cache by a
  // background thread, so a cold read never waits for the cache's disk.
  // When opts.max_pending_cache_writes bytes wait, read-ahead waits for
  // room (the cache fills completely while the reader is not held up),
  // and a reader's own fetch drops its write (the cache is best effort;
  // counted in disk_puts_dropped). Blocks
  // until the fetches running now (read-ahead included) and every write
  // they queued are done.
  void FlushDiskCache();

 private:
  using Plain = std::shared_ptr<const Bytes>;
  using Future = std::shared_future<Result<Plain>>;
  struct Want {  // one blob to fetch
    Id id;
    BlobLocation loc;
    std::shared_ptr<std::promise<Result<Plain>>> promise;
  };
  struct Slot {  // one extent of a read: a cached blob, or a fetch to wait for
    Plain plain;
    Future future;
  };
  struct PendingPut {  // a stored blob inside a fetched range
    Id id;
    std::shared_ptr<const Bytes> range;
    size_t offset = 0, length = 0;
  };
  struct RamEntry {
    Plain plain;
    std::list<Id>::iterator lru;
  };

  // Slots for the extents [first, last] of f (holes get empty ones). Blobs
  // neither cached nor being fetched get an in-flight entry and are
  // appended to todo, which the caller must pass to Fetch.
  std::vector<Slot> Acquire(const File& f, size_t first, size_t last, std::vector<Want>& todo);
  // Fetches wants: in the calling thread when inline_fetch, else on the pool
  // in parallel tasks (read-ahead).
  void Fetch(std::vector<Want> wants, bool inline_fetch);
  // Disk cache hits first, then ranged GETs with adjacent blobs of one pack
  // coalesced; every want is finished (value or error).
  // background: a read-ahead task, which may wait for room in the disk
  // cache writer's queue (a reader's own fetch never waits for it).
  void FetchRun(std::vector<Want> wants, bool background);
  // Fulfils w with a decoded blob or error; caches it in RAM; drops the
  // in-flight entry.
  void Finish(Want& w, Result<Plain> r);
  Result<Plain> Decode(const Want& w, ByteView stored);
  void RamInsertLocked(const Id& id, Plain p);  // caller holds mu_
  Plain RamFindLocked(const Id& id);            // caller holds mu_; bumps LRU
  // Read-ahead after a sequential read ending at end.
  void ReadAhead(File& f, uint64_t end);
  size_t ExtentAt(const File& f, uint64_t offset) const;  // index of the extent holding offset
  // Queues a disk cache write. When the queue is full: waits for room if
  // may_wait, else drops it.
  void QueuePut(PendingPut p, bool may_wait);
  void PutLoop();  // the disk cache writer thread

  const Repository& repo_;
  BlobCache* disk_;
  const ContentReaderOptions opts_;
  mutable ObjectPool<BlobCodec> codecs_;

  mutable std::mutex mu_;
  std::unordered_map<Id, RamEntry, IdHash> ram_;      // GUARDED_BY(mu_)
  std::list<Id> ram_lru_;                              // GUARDED_BY(mu_): oldest first
  uint64_t ram_bytes_ = 0;                             // GUARDED_BY(mu_)
  std::unordered_map<Id, Future, IdHash> inflight_;    // GUARDED_BY(mu_)
  // Files reading ahead now: they share the RAM cache, so each one's
  // window is capped at memory_cache_bytes / (2 * streams_).
  std::atomic<int> streams_{0};
  ContentReaderStats stats_;                           // GUARDED_BY(mu_)

  std::mutex put_mu_;
  std::condition_variable put_cv_;     // new work, room in the queue, or the queue drained
  std::deque<PendingPut> puts_;        // GUARDED_BY(put_mu_)
  uint64_t put_bytes_ = 0;             // GUARDED_BY(put_mu_): queued bytes
  bool put_busy_ = false;              // GUARDED_BY(put_mu_): a Put is running
  bool put_stop_ = false;              // GUARDED_BY(put_mu_)
  std::thread put_thread_;             // only when there is a disk cache

  // Last: destroyed first, so running read-ahead tasks finish while the
  // members above still exist.
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace cairn
