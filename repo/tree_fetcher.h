// TreeFetcher: loads tree blobs by windows of their packs. A backup writes a
// snapshot's trees together into tree packs (a 2.5 GB tree of 13k
// directories has all its trees in one 2.6 MB pack), so a walk that needs
// one tree needs its neighbours soon. A miss GETs the aligned window (PackWindow) of
// window_bytes of the pack that holds the blob (more when the blob runs past
// the window's end) and keeps the stored window in RAM, so the neighbours
// decode from it without a request: a cold `find` over s3:// made one GET
// per directory before.
//
// Windows are kept in an LRU of at most max_bytes; concurrent misses on one
// window share its GET. Every blob is authenticated when decoded, as by
// Repository::LoadBlob, with the same errors (naming the blob and the pack).
//
// Thread safety: thread-safe; no lock is held while fetching or decoding.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "repo/repository.h"
#include "repo/tree.h"

namespace cairn {

struct TreeFetcherStats {
  uint64_t gets = 0;       // windows fetched
  uint64_t get_bytes = 0;  // bytes they held
  uint64_t hits = 0;       // tree blobs decoded from a window already fetched or in flight
};

class TreeFetcher {
 public:
  // repo must outlive the fetcher. window_bytes > 0.
  TreeFetcher(const Repository& repo, uint64_t window_bytes, uint64_t max_bytes);
  TreeFetcher(const TreeFetcher&) = delete;
  TreeFetcher& operator=(const TreeFetcher&) = delete;

  // Reads, authenticates and decompresses tree blob id.
  Result<Bytes> Load(const Id& id, BlobCodec& codec);
  // Load as a TreeLoadFn (codec must outlive it).
  TreeLoadFn Loader(BlobCodec& codec) {
    return [this, &codec](const Id& id) { return Load(id, codec); };
  }
  TreeFetcherStats stats() const;

 private:
  struct Window {
    uint64_t start = 0;  // pack offset of data[0]
    std::shared_ptr<const Bytes> data;
  };
  using Key = std::pair<Id, uint64_t>;  // pack, aligned window start
  using Future = std::shared_future<Result<Window>>;
  struct Entry {
    Window window;
    std::list<Key>::iterator lru;
  };

  // The window that holds [loc.offset, loc.offset + loc.length): cached, in
  // flight (waited for), or fetched now.
  Result<Window> WindowFor(const Id& id, const BlobLocation& loc);

  const Repository& repo_;
  const uint64_t window_bytes_;
  const uint64_t max_bytes_;

  mutable std::mutex mu_;
  std::map<Key, Entry> windows_;           // GUARDED_BY(mu_)
  std::list<Key> lru_;                     // GUARDED_BY(mu_): oldest first
  uint64_t bytes_ = 0;                     // GUARDED_BY(mu_)
  std::map<Key, Future> inflight_;         // GUARDED_BY(mu_)
  std::atomic<uint64_t> gets_{0}, get_bytes_{0}, hits_{0};
};

}  // namespace cairn
