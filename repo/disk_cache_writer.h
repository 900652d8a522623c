// DiskCacheWriter: writes stored blobs to the disk blob cache on its own
// thread, so a cold read never waits for the cache's disk. Blobs are
// queued as slices of the ranged reads that fetched them (shared, so no
// copy is made), and the queue is bounded in bytes: when it is full, a
// caller that may wait (read-ahead) waits for room, so the cache fills
// completely while nobody is held up; a caller that may not (a reader's
// own fetch) has its write dropped, the cache being best effort.
//
// Contract:
// - every queued write reaches the sink exactly once, in queue order,
//   before Flush returns and before the destructor returns;
// - the bytes queued and not yet written (the one being written included)
//   never exceed max_pending_bytes;
// - a write larger than max_pending_bytes is dropped, never waited for.
//
// Thread safety: thread-safe. One mutex (mu_) guards the queue and the
// counters; the sink runs outside it, on the writer thread only.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/bytes.h"
#include "common/id.h"

namespace cairn {

class DiskCacheWriter {
 public:
  // Writes one blob's stored bytes to the cache (BlobCache::Put): best
  // effort, no error to report.
  using Sink = std::function<void(const Id& id, ByteView stored)>;

  // A blob's stored bytes: [offset, offset + length) of range.
  struct Write {
    Id id;
    std::shared_ptr<const Bytes> range;
    size_t offset = 0, length = 0;
  };

  DiskCacheWriter(Sink sink, uint64_t max_pending_bytes);
  // Writes everything queued, then stops the thread.
  ~DiskCacheWriter();
  DiskCacheWriter(const DiskCacheWriter&) = delete;
  DiskCacheWriter& operator=(const DiskCacheWriter&) = delete;

  // Queues w. When the queue has no room for it: waits for room if
  // may_wait, else drops it. Returns whether it was queued.
  bool Queue(Write w, bool may_wait);
  // Blocks until every write queued before the call (and while it waits)
  // is written.
  void Flush();

  uint64_t written() const;  // writes the sink has finished
  uint64_t dropped() const;  // writes not queued for lack of room

 private:
  void Loop();  // the writer thread

  const Sink sink_;
  const uint64_t max_pending_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // new work, room in the queue, or the queue drained
  std::deque<Write> queue_;     // GUARDED_BY(mu_)
  uint64_t pending_bytes_ = 0;  // GUARDED_BY(mu_): queued + being written
  bool busy_ = false;           // GUARDED_BY(mu_): the sink is running
  bool stop_ = false;           // GUARDED_BY(mu_)
  uint64_t written_ = 0;        // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;        // GUARDED_BY(mu_)
  std::thread thread_;          // last: started once the members above exist
};

}  // namespace cairn
