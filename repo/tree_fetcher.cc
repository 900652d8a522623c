#include "repo/tree_fetcher.h"

#include <algorithm>

#include "repo/pack_reads.h"

namespace cairn {

TreeFetcher::TreeFetcher(const Repository& repo, uint64_t window_bytes, uint64_t max_bytes)
    : repo_(repo), window_bytes_(std::max<uint64_t>(window_bytes, 1)), max_bytes_(max_bytes) {}

TreeFetcherStats TreeFetcher::stats() const {
  return {gets_.load(), get_bytes_.load(), hits_.load()};
}

Result<Bytes> TreeFetcher::Load(const Id& id, BlobCodec& codec) {
  auto loc = repo_.FindBlob(id);
  if (!loc) return repo_.LoadBlob(BlobType::kTree, id, codec);  // its NotFound message
  CAIRN_ASSIGN_OR_RETURN(Window w, WindowFor(id, *loc));
  const ByteView stored(w.data->data() + (loc->offset - w.start), loc->length);
  Bytes out;
  CAIRN_RETURN_IF_ERROR(repo_.DecodeBlob(BlobType::kTree, id, *loc, stored, codec, out));
  return out;
}

Result<TreeFetcher::Window> TreeFetcher::WindowFor(const Id& id, const BlobLocation& loc) {
  const uint64_t need_end = uint64_t{loc.offset} + loc.length;
  // PackWindow's start, without its pack size lookup on a hit.
  const Key key{loc.pack, loc.offset - loc.offset % window_bytes_};
  std::promise<Result<Window>> promise;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (auto it = windows_.find(key);
        it != windows_.end() && it->second.window.start + it->second.window.data->size() >= need_end) {
      lru_.splice(lru_.end(), lru_, it->second.lru);
      hits_.fetch_add(1);
      return it->second.window;
    }
    if (auto it = inflight_.find(key); it != inflight_.end()) {
      Future f = it->second;
      lock.unlock();
      Result<Window> w = f.get();
      if (w && w->start + w->data->size() >= need_end) {
        hits_.fetch_add(1);
        return w;
      }
      // A failed or too short shared fetch: fetch this blob's own range.
      CAIRN_ASSIGN_OR_RETURN(Bytes own,
                             repo_.GetPackRange(BlobType::kTree, id, loc, loc.offset, loc.length));
      gets_.fetch_add(1);
      get_bytes_.fetch_add(own.size());
      return Window{loc.offset, std::make_shared<const Bytes>(std::move(own))};
    }
    inflight_.emplace(key, promise.get_future().share());
  }
  const PackRange r = PackWindow(loc, window_bytes_, repo_.cache().PackSize(loc.pack));
  Result<Window> got =
      repo_.GetPackRange(BlobType::kTree, id, loc, r.offset, r.length).map([&](Bytes b) {
        return Window{r.offset, std::make_shared<const Bytes>(std::move(b))};
      });
  std::lock_guard<std::mutex> lock(mu_);
  inflight_.erase(key);
  promise.set_value(got);
  if (!got) return got;
  gets_.fetch_add(1);
  get_bytes_.fetch_add(got->data->size());
  if (auto it = windows_.find(key); it != windows_.end()) {  // a shorter one: replace it
    bytes_ -= it->second.window.data->size();
    lru_.erase(it->second.lru);
    windows_.erase(it);
  }
  lru_.push_back(key);
  windows_.emplace(key, Entry{*got, std::prev(lru_.end())});
  bytes_ += got->data->size();
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto victim = windows_.find(lru_.front());
    bytes_ -= victim->second.window.data->size();
    windows_.erase(victim);
    lru_.pop_front();
  }
  return got;
}

}  // namespace cairn
