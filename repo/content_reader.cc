#include "repo/content_reader.h"

#include <algorithm>
#include <cstring>

#include "repo/pack.h"

namespace cairn {
namespace {

constexpr uint64_t kMaxGet = 8 << 20;            // one ranged GET at most
constexpr uint64_t kMaxGap = 256 << 10;          // read through gaps this small
constexpr uint64_t kTaskBytes = 4 << 20;         // stored bytes per read-ahead task
// Across files: small tasks, taken in file order by the pool's threads, so
// the next file is ready first and several decode in parallel.
constexpr uint64_t kPrefetchTaskBytes = 256 << 10;
constexpr uint64_t kInitialWindow = 1 << 20;     // first read-ahead window

std::string BlobWhere(const Id& blob, const Id& pack) {
  return "data blob " + blob.Short() + " in pack " + pack.Short();
}

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
      pool_(std::make_unique<ThreadPool>(std::max<size_t>(1, opts.fetch_threads), 4096)) {
  if (disk_) put_thread_ = std::thread([this] { PutLoop(); });
}

ContentReader::~ContentReader() {
  pool_.reset();  // no more fetches, hence no more puts
  if (put_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(put_mu_);
      put_stop_ = true;
    }
    put_cv_.notify_all();
    put_thread_.join();
  }
}

void ContentReader::QueuePut(PendingPut p, bool may_wait) {
  bool queued = false;
  {
    std::unique_lock<std::mutex> lock(put_mu_);
    const uint64_t max = opts_.max_pending_cache_writes;
    if (may_wait && p.length <= max) {
      put_cv_.wait(lock, [&] { return put_stop_ || put_bytes_ + p.length <= max; });
    }
    if (put_bytes_ + p.length <= max) {
      put_bytes_ += p.length;
      puts_.push_back(std::move(p));
      queued = true;
    }
  }
  if (queued) {
    put_cv_.notify_all();
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);  // never nested with put_mu_
  ++stats_.disk_puts_dropped;
}

void ContentReader::PutLoop() {
  std::unique_lock<std::mutex> lock(put_mu_);
  for (;;) {
    put_cv_.wait(lock, [&] { return put_stop_ || !puts_.empty(); });
    if (puts_.empty()) return;  // stopping, and everything queued is written
    PendingPut p = std::move(puts_.front());
    puts_.pop_front();
    put_busy_ = true;
    lock.unlock();
    disk_->Put(p.id, ByteView(p.range->data() + p.offset, p.length));
    {
      std::lock_guard<std::mutex> stats_lock(mu_);
      ++stats_.disk_puts;
    }
    p.range.reset();
    lock.lock();
    put_busy_ = false;
    put_bytes_ -= p.length;
    put_cv_.notify_all();  // room for waiting read-ahead; maybe drained
  }
}

void ContentReader::FlushDiskCache() {
  pool_->Wait();  // read-ahead fetches queue puts too
  std::unique_lock<std::mutex> lock(put_mu_);
  put_cv_.wait(lock, [&] { return puts_.empty() && !put_busy_; });
}

std::unique_ptr<ContentReader::File> ContentReader::Open(const Node& file, std::string what) {
  return std::unique_ptr<File>(new File(file, std::move(what), &streams_));
}

size_t ContentReader::ExtentAt(const File& f, uint64_t offset) const {
  auto it = std::upper_bound(f.starts_.begin(), f.starts_.end(), offset);
  return static_cast<size_t>(it - f.starts_.begin()) - 1;
}

ContentReader::Plain ContentReader::RamFindLocked(const Id& id) {
  auto it = ram_.find(id);
  if (it == ram_.end()) return nullptr;
  ram_lru_.splice(ram_lru_.end(), ram_lru_, it->second.lru);
  return it->second.plain;
}

void ContentReader::RamInsertLocked(const Id& id, Plain p, bool prefetched) {
  const uint64_t size = p->size();
  if (size > opts_.memory_cache_bytes || ram_.count(id)) return;
  while (ram_bytes_ + size > opts_.memory_cache_bytes && !ram_lru_.empty()) {
    auto victim = ram_.find(ram_lru_.front());
    ram_bytes_ -= victim->second.plain->size();
    ram_.erase(victim);
    ram_lru_.pop_front();
  }
  ram_bytes_ += size;
  ram_.emplace(id, RamEntry{std::move(p), ram_lru_.insert(ram_lru_.end(), id), prefetched});
}

std::vector<ContentReader::Slot> ContentReader::Acquire(const File& f, size_t first, size_t last,
                                                        std::vector<Want>& todo, Fetcher by) {
  std::vector<Slot> slots(last - first + 1);
  size_t todo_begin = todo.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = first; i <= last; ++i) {
      const Extent& x = f.extents_[i];
      if (x.hole) continue;
      Slot& s = slots[i - first];
      auto hit = ram_.find(x.blob);
      if (hit != ram_.end()) {
        ram_lru_.splice(ram_lru_.end(), ram_lru_, hit->second.lru);  // as RamFindLocked, one lookup
        s.plain = hit->second.plain;
        ++stats_.ram_hits;
        if (by == Fetcher::kRead && hit->second.prefetched) {
          hit->second.prefetched = false;
          ++stats_.prefetch_hits;
        }
        continue;
      }
      auto in = inflight_.find(x.blob);
      if (in != inflight_.end()) {
        s.future = in->second.future;
        s.background = in->second.by != Fetcher::kRead;
        if (by == Fetcher::kRead && in->second.by == Fetcher::kPrefetch) {
          in->second.by = Fetcher::kReadAhead;  // counted once; still a background fetch
          ++stats_.prefetch_hits;
        }
        continue;
      }
      Want w;
      w.id = x.blob;
      w.promise = std::make_shared<std::promise<Result<Plain>>>();
      s.future = w.promise->get_future().share();
      s.background = by != Fetcher::kRead;
      inflight_.emplace(x.blob, InFlight{s.future, by});
      todo.push_back(std::move(w));
    }
  }
  Locate(todo, todo_begin);
  return slots;
}

void ContentReader::Locate(std::vector<Want>& todo, size_t from) {
  // Index lookups outside the lock; a blob the index lacks fails here.
  for (size_t k = from; k < todo.size();) {
    auto loc = repo_.FindBlob(todo[k].id);
    if (loc) {
      todo[k++].loc = *loc;
      continue;
    }
    Finish(todo[k], Err(Status::NotFound("data blob " + todo[k].id.Short() +
                                         " is not in the index; run `cairn check`")));
    todo.erase(todo.begin() + static_cast<long>(k));
  }
}

Result<ContentReader::Plain> ContentReader::Decode(const Want& w, ByteView stored) {
  auto codec = codecs_.Acquire();
  Bytes out;
  out.reserve(w.loc.raw_length);
  CAIRN_RETURN_IF_ERROR(repo_.DecodeBlob(BlobType::kData, w.id, w.loc, stored, *codec, out));
  return std::make_shared<const Bytes>(std::move(out));
}

void ContentReader::Finish(Want& w, Result<Plain> r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto in = inflight_.find(w.id);
    const bool prefetched = in != inflight_.end() && in->second.by == Fetcher::kPrefetch;
    if (r) RamInsertLocked(w.id, *r, prefetched);
    if (in != inflight_.end()) inflight_.erase(in);
  }
  w.promise->set_value(std::move(r));
}

void ContentReader::FetchRun(std::vector<Want> wants, Fetcher by) {
  const bool background = by != Fetcher::kRead;
  const uint64_t max_gap = by == Fetcher::kPrefetch ? opts_.max_prefetch_gap_bytes : kMaxGap;
  // The disk cache first: its bytes are authenticated like the store's, and
  // bytes that fail are dropped from it and fetched again.
  if (disk_) {
    std::vector<Want> rest;
    for (Want& w : wants) {
      if (auto stored = disk_->Get(w.id)) {
        auto plain = Decode(w, *stored);
        if (plain) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.disk_hits;
          }
          Finish(w, std::move(plain));
          continue;
        }
        repo_.logger().Warn("blob cache: {}; dropped from the cache, reading the store",
                            plain.error().message());
        disk_->Remove(w.id);
      }
      rest.push_back(std::move(w));
    }
    wants = std::move(rest);
  }
  std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
    return a.loc.pack != b.loc.pack ? a.loc.pack < b.loc.pack : a.loc.offset < b.loc.offset;
  });
  for (size_t k = 0; k < wants.size();) {
    const Id pack = wants[k].loc.pack;
    const uint64_t begin = wants[k].loc.offset;
    uint64_t end = begin + wants[k].loc.length;
    size_t j = k + 1;
    for (; j < wants.size(); ++j) {
      const BlobLocation& l = wants[j].loc;
      if (l.pack != pack || l.offset < end || l.offset - end > max_gap ||
          l.offset + l.length - begin > kMaxGet)
        break;
      end = uint64_t{l.offset} + l.length;
    }
    auto got = repo_.store().Get(PackKey(pack), begin, end - begin);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.store_gets;
      stats_.store_blobs += j - k;
      if (got) stats_.store_bytes += got->size();
    }
    // Shared so queued disk cache writes keep the range without a copy.
    Result<std::shared_ptr<const Bytes>> bytes =
        got ? Result<std::shared_ptr<const Bytes>>(std::make_shared<const Bytes>(std::move(*got)))
            : Err(got.error());
    for (; k < j; ++k) {
      Want& w = wants[k];
      if (!bytes) {
        const Status& e = bytes.error();
        if (e.Is(ErrorCode::kNotFound)) {
          Finish(w, Err(Status::NotFound("pack " + pack.Short() + " holding data blob " +
                                         w.id.Short() +
                                         " is missing from the store; run `cairn check`")));
        } else if (e.Is(ErrorCode::kOutOfRange)) {
          Finish(w, Err(Status::Corruption(BlobWhere(w.id, pack) +
                                           ": pack truncated (blob lies past its end); run "
                                           "`cairn check`")));
        } else {
          Finish(w, Err(e.WithContext("reading " + BlobWhere(w.id, pack))));
        }
        continue;
      }
      const Bytes& range = **bytes;
      const uint64_t at = w.loc.offset - begin;
      ByteView stored;
      if (at < range.size()) {
        stored = ByteView(range.data() + at, std::min<uint64_t>(w.loc.length, range.size() - at));
      }
      auto plain = Decode(w, stored);
      const bool keep = plain && disk_;
      PendingPut put{w.id, *bytes, static_cast<size_t>(at), stored.size()};
      if (background) {
        // Readers first; then wait for room if the writer is behind
        // (FlushDiskCache waits for this task, so it sees the write).
        Finish(w, std::move(plain));
        if (keep) QueuePut(std::move(put), /*may_wait=*/true);
      } else {
        // Queued (never waiting) before the reader is woken, so a
        // FlushDiskCache after its read sees it.
        if (keep) QueuePut(std::move(put), /*may_wait=*/false);
        Finish(w, std::move(plain));
      }
    }
  }
}

void ContentReader::Fetch(std::vector<Want> wants, Fetcher by) {
  if (wants.empty()) return;
  if (by == Fetcher::kRead) return FetchRun(std::move(wants), by);
  {
    std::lock_guard<std::mutex> lock(mu_);
    (by == Fetcher::kPrefetch ? stats_.prefetch_blobs : stats_.readahead_blobs) += wants.size();
  }
  // Tasks of ~kTaskBytes each so the window is fetched in parallel.
  const uint64_t task_bytes = by == Fetcher::kPrefetch ? kPrefetchTaskBytes : kTaskBytes;
  std::vector<Want> task;
  uint64_t bytes = 0;
  for (Want& w : wants) {
    bytes += w.loc.length;
    task.push_back(std::move(w));
    if (bytes >= task_bytes) {
      pool_->Submit([this, by, t = std::move(task)]() mutable { FetchRun(std::move(t), by); });
      task.clear();
      bytes = 0;
    }
  }
  if (!task.empty()) {
    pool_->Submit([this, by, t = std::move(task)]() mutable { FetchRun(std::move(t), by); });
  }
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
      if (ram_.count(x.blob)) continue;
    }
    if (disk_ && disk_->Contains(x.blob)) continue;
    return "stored";
  }
  return "cached";
}

ContentReaderStats ContentReader::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ContentReaderStats s = stats_;
  s.ram_bytes = ram_bytes_;
  return s;
}

}  // namespace cairn
