// ContentReader: the read path of the mount and of `cairn cat`. Reads byte
// ranges of stored files: binary search of the file's extents, then per
// blob the first of
//   1. the RAM cache of decoded blobs (RamBlobCache),
//   2. a fetch of the blob already in flight (concurrent readers of one
//      blob share one fetch),
//   3. the disk BlobCache (stored bytes, authenticated and decrypted on
//      every hit),
//   4. ranged GETs of packs, adjacent blobs of one pack coalesced into one
//      GET (PackRangeBuilder); what they fetch is written to the disk cache
//      in the background (DiskCacheWriter, see FlushDiskCache).
//
// In-file read-ahead: sequential reads of a File are read ahead in a window
// that doubles (1 MiB up to max_readahead_bytes) while they stay
// sequential, fetched in parallel on fetch_threads. A read is sequential
// when it starts at 0 or exactly where one of the last 8 reads ended, so
// the kernel's slightly reordered parallel reads still count; random reads
// trigger no read-ahead.
//
// Read-ahead across files: Sequence and Opened hand the rules to
// CrossFilePrefetcher (cross_file_prefetcher.h has the contract), with a
// window of at most max_prefetch_bytes and an eighth of the RAM cache, so
// what is ahead does not evict what is being read. This class claims the
// blobs it picks and fetches them into the RAM cache in small tasks taken
// in file order by the fetch threads, coalesced by pack.
//
// A failed background fetch (in-file or cross-file) is not cached and does
// not fail a read: the reader that waited for it fetches the blob again
// itself once, and only that fetch's error reaches the caller.
//
// Thread safety: ContentReader is thread-safe. A File may be read from
// several threads at once (the kernel issues parallel reads on one handle);
// its sequential-read state has its own lock. Lock order: Sequence's lock,
// then ContentReader::mu_. File::mu_, ContentReader::mu_ and the disk
// cache writer's lock are never held together, and none is held while
// fetching, decoding or copying.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/blob_cache.h"
#include "common/object_pool.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "repo/cross_file_prefetcher.h"
#include "repo/disk_cache_writer.h"
#include "repo/ram_blob_cache.h"
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
  uint64_t ram_hits = 0;           // blobs found in the RAM cache (by reads and read-ahead)
  uint64_t disk_hits = 0;          // blobs served from the disk cache
  uint64_t store_gets = 0;         // ranged GETs issued
  uint64_t store_blobs = 0;        // blobs fetched by those GETs
  uint64_t store_bytes = 0;        // bytes fetched by those GETs
  uint64_t readahead_blobs = 0;    // blobs fetched ahead of the reader
  uint64_t ram_bytes = 0;          // decoded bytes in the RAM cache now (not monotonic)
  uint64_t disk_puts = 0;          // blobs written to the disk cache
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
    int random_run_ = 0;                     // consecutive reads that continued nothing
    uint64_t window_ = 0;                    // current read-ahead window (0: none)
    bool streaming_ = false;                 // counted in *streams_
    uint64_t ahead_until_ = 0;               // read-ahead scheduled up to this offset
    std::unordered_set<Id, IdHash> logged_;  // blobs whose failure was logged
  };

  std::unique_ptr<File> Open(const Node& file, std::string what /*path, for messages*/);

  // A sequence of files that will probably be opened in the order of their
  // positions, and the files after a position (CrossFilePrefetcher has the
  // contract). A Sequence must not outlive its ContentReader.
  using Sequence = PrefetchSequence;
  using UpcomingNodeFn = CrossFilePrefetcher::UpcomingNodeFn;
  using UpcomingFn = CrossFilePrefetcher::UpcomingFn;
  std::unique_ptr<Sequence> NewSequence() { return prefetcher_.NewSequence(); }
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
  // background thread (DiskCacheWriter), so a cold read never waits for the
  // cache's disk. When opts.max_pending_cache_writes bytes wait, read-ahead
  // waits for room (the cache fills completely while the reader is not held
  // up), and a reader's own fetch drops its write (the cache is best
  // effort; counted in disk_puts_dropped). Blocks until the fetches running
  // now (read-ahead included) and every write they queued are done.
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
  // Disk cache hits first, then ranged GETs with adjacent blobs of one pack
  // coalesced; every want is finished (value or error).
  // A background fetch (read-ahead) may wait for room in the disk cache
  // writer's queue (a reader's own fetch never waits for it).
  void FetchRun(std::vector<Want> wants, Fetcher by);
  // Fulfils w with a decoded blob or error; caches it in RAM; drops the
  // in-flight entry.
  void Finish(Want& w, Result<Plain> r);
  Result<Plain> Decode(const Want& w, ByteView stored);
  // Read-ahead after a sequential read ending at end.
  void ReadAhead(File& f, uint64_t end);
  size_t ExtentAt(const File& f, uint64_t offset) const;  // index of the extent holding offset

  const Repository& repo_;
  BlobCache* disk_;
  const ContentReaderOptions opts_;
  mutable ObjectPool<BlobCodec> codecs_;

  // Guards the RAM cache, the fetches in flight and the counters, so that
  // "cached, or being fetched, or to fetch?" is one atomic step. Held only
  // for table lookups and updates: never while fetching, decoding, copying
  // or writing to disk. Taken after a Sequence's lock, never with a File's
  // or the disk cache writer's.
  mutable std::mutex mu_;
  RamBlobCache ram_;                                   // GUARDED_BY(mu_)
  std::unordered_map<Id, InFlight, IdHash> inflight_;  // GUARDED_BY(mu_)
  ContentReaderStats stats_;                           // GUARDED_BY(mu_)
  // Files reading ahead now: they share the RAM cache, so each one's
  // window is capped at memory_cache_bytes / (2 * streams_).
  std::atomic<int> streams_{0};

  CrossFilePrefetcher prefetcher_;
  std::unique_ptr<DiskCacheWriter> disk_writer_;  // only when there is a disk cache

  // Last: destroyed first, so running read-ahead tasks finish while the
  // members above still exist.
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace cairn
