// ContentReader's files and reads: extents, in-file read-ahead, copying
// out; the fetches are in content_reader_fetch.cc.
#include "repo/content_reader.h"

#include <algorithm>
#include <cstring>

namespace cairn {
namespace {

constexpr uint64_t kInitialWindow = 1 << 20;  // first in-file read-ahead window

}  // namespace

ContentReader::File::~File() {
  std::lock_guard<std::mutex> lock(mu_);
  SetStreamingLocked(false);
}

void ContentReader::File::SetStreamingLocked(bool on) {
  if (on == streaming_) return;
  streaming_ = on;
  streams_->fetch_add(on ? 1 : -1, std::memory_order_relaxed);
}

ContentReader::File::File(const Node& node, std::string what, std::atomic<int>* streams)
    : streams_(streams), what_(std::move(what)), size_(node.size), extents_(node.content) {
  starts_.reserve(extents_.size());
  uint64_t off = 0;
  for (const Extent& x : extents_) {
    starts_.push_back(off);
    off += x.length;
  }
  covered_ = off;
}

ContentReader::ContentReader(const Repository& repo, BlobCache* disk_cache,
                             const ContentReaderOptions& opts)
    : repo_(repo),
      disk_(disk_cache),
      opts_(opts),
      codecs_([&repo] { return repo.NewCodec(); }),
      ram_(opts.memory_cache_bytes),
      prefetcher_(std::min(opts.max_prefetch_bytes, opts.memory_cache_bytes / 8)),
      pool_(std::make_unique<ThreadPool>(std::max<size_t>(1, opts.fetch_threads), 4096)) {
  if (disk_) {
    disk_writer_ = std::make_unique<DiskCacheWriter>(
        [disk = disk_](const Id& id, ByteView stored) { disk->Put(id, stored); },
        opts.max_pending_cache_writes);
  }
}

ContentReader::~ContentReader() {
  pool_.reset();         // no more fetches, hence no more disk cache writes
  disk_writer_.reset();  // writes what is queued
}

void ContentReader::FlushDiskCache() {
  pool_->Wait();  // read-ahead fetches queue writes too
  if (disk_writer_) disk_writer_->Flush();
}

std::unique_ptr<ContentReader::File> ContentReader::Open(const Node& file, std::string what) {
  return std::unique_ptr<File>(new File(file, std::move(what), &streams_));
}

size_t ContentReader::ExtentAt(const File& f, uint64_t offset) const {
  auto it = std::upper_bound(f.starts_.begin(), f.starts_.end(), offset);
  return static_cast<size_t>(it - f.starts_.begin()) - 1;
}

void ContentReader::ReadAhead(File& f, uint64_t end) {
  uint64_t from, to;
  {
    std::lock_guard<std::mutex> lock(f.mu_);
    if (f.window_ == 0) f.window_ = kInitialWindow;
    f.ahead_until_ = std::max(f.ahead_until_, end);
    // Top up when less than half the window is left ahead of the reader,
    // and grow the window each time: the reader kept up with the last one.
    if (f.ahead_until_ >= end + f.window_ / 2 || f.ahead_until_ >= f.size_) {
      if (f.ahead_until_ >= f.size_) f.SetStreamingLocked(false);  // nothing left to fetch
      return;
    }
    f.SetStreamingLocked(true);
    const uint64_t streams = static_cast<uint64_t>(std::max(1, streams_.load()));
    const uint64_t cap = std::max<uint64_t>(
        kInitialWindow,
        std::min(opts_.max_readahead_bytes, opts_.memory_cache_bytes / (2 * streams)));
    f.window_ = std::min(cap, f.window_ * 2);
    from = f.ahead_until_;
    to = std::min(f.size_, end + f.window_);
    f.ahead_until_ = to;
  }
  if (from >= to) return;
  std::vector<Want> todo;
  (void)Acquire(f, ExtentAt(f, from), ExtentAt(f, to - 1), todo, Fetcher::kReadAhead);
  Fetch(std::move(todo), Fetcher::kReadAhead);
}

Result<size_t> ContentReader::Read(File& f, uint64_t offset, std::span<uint8_t> out) {
  if (offset >= f.size_ || out.empty()) return size_t{0};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), f.size_ - offset));
  const uint64_t end = offset + n;
  if (end > f.covered_) {  // a damaged tree: never hand out bytes no blob backs
    Status s = Status::Corruption(f.what_ + ": the file's extents cover " +
                                  std::to_string(f.covered_) + " bytes but its size is " +
                                  std::to_string(f.size_) + "; run `cairn check`");
    bool first_time;
    {
      std::lock_guard<std::mutex> lock(f.mu_);
      first_time = f.logged_.insert(Id{}).second;
    }
    if (first_time) repo_.logger().Error("{}", s.message());
    return Err(std::move(s));
  }
  bool sequential;
  {
    std::lock_guard<std::mutex> lock(f.mu_);
    sequential = offset == 0 || std::find(f.recent_ends_.begin(), f.recent_ends_.end(), offset) !=
                                    f.recent_ends_.end();
    f.recent_ends_[f.recent_next_] = end;
    f.recent_next_ = (f.recent_next_ + 1) % f.recent_ends_.size();
    if (sequential) {
      f.random_run_ = 0;
    } else if (++f.random_run_ >= 2) {
      // Random access (one stray read may be a reordered sequential one):
      // no read-ahead until reads are sequential again.
      f.window_ = 0;
      f.ahead_until_ = 0;
      f.SetStreamingLocked(false);
    }
  }
  const size_t first = ExtentAt(f, offset), last = ExtentAt(f, end - 1);
  std::vector<Want> todo;
  std::vector<Slot> slots = Acquire(f, first, last, todo, Fetcher::kRead);
  if (sequential) ReadAhead(f, end);
  Fetch(std::move(todo), Fetcher::kRead);

  for (size_t i = first; i <= last; ++i) {
    const Extent& x = f.extents_[i];
    const uint64_t lo = std::max(offset, f.starts_[i]);
    const uint64_t hi = std::min(end, f.starts_[i] + x.length);
    if (lo >= hi) continue;
    uint8_t* dst = out.data() + (lo - offset);
    if (x.hole) {
      std::memset(dst, 0, hi - lo);
      continue;
    }
    Slot& s = slots[i - first];
    Plain plain = s.plain;
    Status err;
    if (!plain) {
      Result<Plain> r = s.future.get();
      if (!r && s.background) {
        // A background fetch failed (not cached): fetch it again for this
        // read, once, so only the reader's own fetch can fail the read.
        std::vector<Want> again;
        Slot retry = std::move(Acquire(f, i, i, again, Fetcher::kRead)[0]);
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.background_retries;
        }
        Fetch(std::move(again), Fetcher::kRead);
        r = retry.plain ? Result<Plain>(retry.plain) : retry.future.get();
      }
      if (r) {
        plain = *r;
      } else {
        err = r.error();
      }
    }
    if (plain && plain->size() != x.length) {
      err = Status::Corruption("data blob " + x.blob.Short() + " holds " +
                               std::to_string(plain->size()) + " bytes, the file's extent " +
                               std::to_string(x.length) + "; run `cairn check`");
    }
    if (!err.ok()) {
      Status s2 = err.WithContext(f.what_);
      bool first_time;
      {
        std::lock_guard<std::mutex> lock(f.mu_);
        first_time = f.logged_.insert(x.blob).second;
      }
      if (first_time) repo_.logger().Error("{}", s2.message());
      return Err(std::move(s2));
    }
    std::memcpy(dst, plain->data() + (lo - f.starts_[i]), hi - lo);
  }
  return n;
}

std::string ContentReader::State(const Node& file) const {
  for (const Extent& x : file.content) {
    if (x.hole) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ram_.Contains(x.blob)) continue;
    }
    if (disk_ && disk_->Contains(x.blob)) continue;
    return "stored";
  }
  return "cached";
}

void ContentReader::Opened(Sequence& seq, uint64_t pos, const UpcomingFn& upcoming) {
  std::vector<Want> todo;
  prefetcher_.Opened(seq, pos, upcoming, [&](std::span<const Extent> xs, uint64_t max_bytes) {
    return AcquireAhead(xs, max_bytes, todo);
  });
  Fetch(std::move(todo), Fetcher::kPrefetch);
}

ContentReaderStats ContentReader::stats() const {
  ContentReaderStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stats_;
    s.ram_bytes = ram_.bytes();
  }
  s.prefetch_files = prefetcher_.files_claimed();
  s.prefetch_wasted = prefetcher_.files_wasted();
  if (disk_writer_) {
    s.disk_puts = disk_writer_->written();
    s.disk_puts_dropped = disk_writer_->dropped();
  }
  return s;
}

}  // namespace cairn
