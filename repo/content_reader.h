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
// Read-ahead across files (Sequence, Opened): the caller may say that files
// come in a sequence and will probably be opened in the order of their
// positions (fs/ keeps one Sequence per directory being read, positions
// being entry ordinals; ContentReader knows nothing of directories). When
// a file of a Sequence is opened, the blobs of the files after it are
// fetched into the RAM cache in the background (small tasks taken in file
// order by the fetch threads), coalesced by pack, up to a window of bytes that starts at
// 128 KiB and doubles (up to max_prefetch_bytes and an eighth of the RAM
// cache; whole files are scheduled, so what is ahead stays under twice
// the window and does not evict what is being read) each time an opened file is one that was fetched ahead.
// An open that goes backwards, or skips files that were fetched ahead,
// stops (resp. halves) the window. Files fetched ahead and never opened
// cost the reader "credit": the first open of a new Sequence reads ahead
// only while recently fetched-ahead files were being opened, so random
// opens across many directories pay at most a few small windows.
// `upcoming` may also produce files that are not the Sequence's own
// ("foreign": what the caller expects to be read next but opened in another
// Sequence, e.g. the first files of the next directories of a walk): they
// are fetched within the same window, and dropped without counting as
// opened or wasted once an own file at or past their position is opened.
// A failed background fetch (in-file or cross-file) is not cached and does
// not fail a read: the reader that waited for it fetches the blob again
// itself once, and only that fetch's error reaches the caller.
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
#include <functional>
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
  // Read-ahead across the files of a Sequence: bytes of the files after
  // the one opened fetched ahead at most: the window (also capped at an
  // eighth of memory_cache_bytes; up to twice it may be ahead, as whole
  // files are fetched); 0 turns it off.
  uint64_t max_prefetch_bytes = 8 << 20;
  // Across files, one ranged GET reads through gaps this small between
  // wanted blobs of a pack. The next files' blobs are often interleaved
  // with other directories' (parallel packing, dedup), so the gaps are
  // read and thrown away: worth a GET's latency on S3, not on a local
  // disk (on the benchmark tree 256 KiB read every pack byte ~3 times).
  uint64_t max_prefetch_gap_bytes = 256 << 10;
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
  // Read-ahead across files (Sequence):
  uint64_t prefetch_files = 0;      // files whose blobs were scheduled ahead of their open
  uint64_t prefetch_blobs = 0;      // blobs fetched for them (not in readahead_blobs)
  uint64_t prefetch_hits = 0;       // blobs a Read found in RAM or in flight thanks to them
  uint64_t prefetch_wasted = 0;     // files scheduled ahead and then skipped or dropped
  uint64_t background_retries = 0;  // blobs a Read fetched again after a background failure
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

  // A sequence of files that will probably be opened in the order of their
  // positions (see the top of this file). Holds no blobs itself (what it
  // fetched ahead lives in the RAM cache) and no thread. Must not outlive
  // its ContentReader. Thread-safe: its state has its own lock, taken
  // before (never inside) ContentReader::mu_.
  class Sequence {
   public:
    // The current window in bytes (0: read-ahead across files is off).
    uint64_t window() const {
      std::lock_guard<std::mutex> lock(mu_);
      return window_;
    }
    // Files fetched ahead and never opened count as wasted.
    ~Sequence();
    Sequence(const Sequence&) = delete;
    Sequence& operator=(const Sequence&) = delete;

   private:
    friend class ContentReader;
    explicit Sequence(ContentReader* reader) : reader_(reader) {}
    struct Ahead {  // a file scheduled ahead of its open
      uint64_t pos = 0;
      uint64_t bytes = 0;  // of its content scheduled (fetched or already cached)
      bool own = true;     // false: a foreign file (see the top of this file)
    };
    size_t OwnAheadLocked() const;  // entries of ahead_ that are own files
    ContentReader* const reader_;
    mutable std::mutex mu_;
    // All GUARDED_BY(mu_).
    bool started_ = false;     // a file was opened
    uint64_t last_pos_ = 0;    // position of the last file opened
    uint64_t window_ = 0;      // bytes to keep scheduled ahead of last_pos_
    uint64_t next_pos_ = 0;    // the next position to ask `upcoming` for
    bool exhausted_ = false;   // `upcoming` had nothing from next_pos_ on
    std::deque<Ahead> ahead_;  // scheduled, not opened yet; by position
  };
  std::unique_ptr<Sequence> NewSequence();

  // Produces the files of a sequence at positions >= from, in order: calls
  // fn(pos, node, own) until fn returns false or the sequence ends. Nodes
  // that are not regular files are skipped by the reader (fs/ may pass a
  // directory's every entry). own is false for a foreign file, whose pos is
  // the position of the own entry it comes after (several may share one).
  // An error only ends this round of read-ahead.
  using UpcomingNodeFn = std::function<bool(uint64_t pos, const Node& node, bool own)>;
  using UpcomingFn = std::function<Status(uint64_t from, const UpcomingNodeFn& fn)>;
  // The file at position pos of seq was opened (the caller reads it next,
  // probably, and fetches what of it is not cached itself). Updates the
  // window and schedules fetches of the next files' blobs in the
  // background; never blocks on a fetch and never fails (an open must not
  // fail for read-ahead).
  void Opened(Sequence& seq, uint64_t pos, const UpcomingFn& upcoming);

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
  // Who fetches a blob: a Read for itself (inline), in-file read-ahead, or
  // read-ahead across files. The last two are background fetches.
  enum class Fetcher { kRead, kReadAhead, kPrefetch };
  struct Want {  // one blob to fetch
    Id id;
    BlobLocation loc;
    std::shared_ptr<std::promise<Result<Plain>>> promise;
  };
  struct Slot {  // one extent of a read: a cached blob, or a fetch to wait for
    Plain plain;
    Future future;
    bool background = false;  // future is a background fetch's
  };
  struct InFlight {
    Future future;
    Fetcher by = Fetcher::kRead;
  };
  struct PendingPut {  // a stored blob inside a fetched range
    Id id;
    std::shared_ptr<const Bytes> range;
    size_t offset = 0, length = 0;
  };
  struct RamEntry {
    Plain plain;
    std::list<Id>::iterator lru;
    bool prefetched = false;  // fetched ahead across files, not read yet
  };

  // Slots for the extents [first, last] of f (holes get empty ones). Blobs
  // neither cached nor being fetched get an in-flight entry and are
  // appended to todo, which the caller must pass to Fetch.
  std::vector<Slot> Acquire(const File& f, size_t first, size_t last, std::vector<Want>& todo,
                            Fetcher by);
  // Like Acquire for the extents xs of a file fetched ahead across files,
  // without slots: appends wants for blobs neither cached nor in flight and
  // returns the bytes of content xs holds (cached or not).
  uint64_t AcquireAhead(std::span<const Extent> xs, uint64_t max_bytes, std::vector<Want>& todo);
  // Looks up todo[from..] in the index; fails and removes those it lacks.
  void Locate(std::vector<Want>& todo, size_t from);
  // Fetches wants: in the calling thread for a kRead, else on the pool in
  // parallel tasks (read-ahead, in-file or across files).
  void Fetch(std::vector<Want> wants, Fetcher by);
  // Read-ahead across files: files opened that were fetched ahead earn
  // credit, wasted ones (fetched ahead, never opened) cost it; both counted.
  void AdjustCredit(size_t opened_ahead, size_t wasted);
  // Disk cache hits first, then ranged GETs with adjacent blobs of one pack
  // coalesced; every want is finished (value or error).
  // A background fetch (read-ahead) may wait for room in the disk cache
  // writer's queue (a reader's own fetch never waits for it).
  void FetchRun(std::vector<Want> wants, Fetcher by);
  // Fulfils w with a decoded blob or error; caches it in RAM; drops the
  // in-flight entry.
  void Finish(Want& w, Result<Plain> r);
  Result<Plain> Decode(const Want& w, ByteView stored);
  void RamInsertLocked(const Id& id, Plain p, bool prefetched);  // caller holds mu_
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
  std::unordered_map<Id, InFlight, IdHash> inflight_;  // GUARDED_BY(mu_)
  // Files reading ahead now: they share the RAM cache, so each one's
  // window is capped at memory_cache_bytes / (2 * streams_).
  std::atomic<int> streams_{0};
  ContentReaderStats stats_;                           // GUARDED_BY(mu_)
  // Read-ahead across files: > 0 lets the first open of a Sequence read
  // ahead; + for opened files that were fetched ahead, - for wasted ones.
  std::atomic<int> credit_{2};

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
