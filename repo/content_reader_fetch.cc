// ContentReader's fetches: claiming blobs (in flight, shared by concurrent
// readers), the disk cache, coalesced ranged GETs of packs, decoding, and
// handing results to waiters and the RAM cache. Locking: see mu_ in
// content_reader.h.
#include <algorithm>

#include "repo/content_reader.h"
#include "repo/pack.h"
#include "repo/pack_reads.h"

namespace cairn {
namespace {

constexpr uint64_t kTaskBytes = 4 << 20;  // stored bytes per read-ahead task
// Across files: small tasks, taken in file order by the pool's threads, so
// the next file is ready first and several decode in parallel.
constexpr uint64_t kPrefetchTaskBytes = 256 << 10;

}  // namespace

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
      bool first_read = false;
      if (Plain hit = ram_.Find(x.blob, by == Fetcher::kRead ? &first_read : nullptr)) {
        s.plain = std::move(hit);
        ++stats_.ram_hits;
        if (first_read) ++stats_.prefetch_hits;
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

uint64_t ContentReader::AcquireAhead(std::span<const Extent> xs, uint64_t max_bytes,
                                     std::vector<Want>& todo) {
  const size_t todo_begin = todo.size();
  uint64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Extent& x : xs) {
      if (bytes >= max_bytes) break;
      if (x.hole) continue;
      bytes += x.length;
      if (ram_.Find(x.blob) || inflight_.count(x.blob)) continue;  // cached: kept longer
      Want w;
      w.id = x.blob;
      w.promise = std::make_shared<std::promise<Result<Plain>>>();
      inflight_.emplace(x.blob, InFlight{w.promise->get_future().share(), Fetcher::kPrefetch});
      todo.push_back(std::move(w));
    }
  }
  Locate(todo, todo_begin);
  return bytes;
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
    if (r) ram_.Insert(w.id, *r, prefetched);
    if (in != inflight_.end()) inflight_.erase(in);
  }
  w.promise->set_value(std::move(r));
}

void ContentReader::FetchRun(std::vector<Want> wants, Fetcher by) {
  const bool background = by != Fetcher::kRead;
  CoalescePolicy policy;
  if (by == Fetcher::kPrefetch) policy.max_gap = opts_.max_prefetch_gap_bytes;
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
    PackRangeBuilder plan(wants[k].loc, policy);
    size_t j = k + 1;
    while (j < wants.size() && plan.TryAdd(wants[j].loc)) ++j;
    const PackRange& r = plan.range();
    auto got = repo_.store().Get(PackKey(r.pack), r.offset, r.length);
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
        Finish(w, Err(IsPackDamage(e) ? PackReadError(e, r.pack, BlobType::kData, &w.id)
                                      : e.WithContext("reading data blob " + w.id.Short() +
                                                      " in pack " + r.pack.Short())));
        continue;
      }
      const Bytes& range = **bytes;
      const uint64_t at = w.loc.offset - r.offset;
      ByteView stored;
      if (at < range.size()) {
        stored = ByteView(range.data() + at, std::min<uint64_t>(w.loc.length, range.size() - at));
      }
      auto plain = Decode(w, stored);
      const bool keep = plain && disk_writer_;
      DiskCacheWriter::Write put{w.id, *bytes, static_cast<size_t>(at), stored.size()};
      if (background) {
        // Readers first; then wait for room if the writer is behind
        // (FlushDiskCache waits for this task, so it sees the write).
        Finish(w, std::move(plain));
        if (keep) disk_writer_->Queue(std::move(put), /*may_wait=*/true);
      } else {
        // Queued (never waiting) before the reader is woken, so a
        // FlushDiskCache after its read sees it.
        if (keep) disk_writer_->Queue(std::move(put), /*may_wait=*/false);
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

}  // namespace cairn
