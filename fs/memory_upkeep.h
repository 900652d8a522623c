// MemoryUpkeep: keeps the mount daemon's resident set flat while the trees
// are walked, on one background thread, so that the namespace code only
// says "busy" (model: mountpoint-s3's memory/maintenance.rs).
//
// Two kinds of memory grow with a walk without being needed afterwards:
//   - the pages of the LMDB maps (tree cache, blob index) a walk touched:
//     they stay in the page cache, but the daemon's mappings of them count
//     in its RSS until dropped (madvise, FileMappings::Release);
//   - memory freed by other threads (FUSE buffers, decoded batches), which
//     stays in glibc's per-thread arenas until malloc_trim.
// While the mount is busy, every interval the thread reads the resident
// set (/proc/self/statm, a few microseconds); above the budget it drops the
// maps, and at most every trim interval trims malloc. An idle mount costs
// nothing: the thread sleeps until the next Busy().
//
// The intervals: a cold walk with the tree prefetch maps tens of MB of
// tree-cache pages per 200 ms. Dropping them more often than needed costs
// re-faults of the B-trees' hot pages (bench/RESULTS.md: a cold find of 13k
// directories took 3.3 s with a sweep every 200 ms, 3.5-4.3 s every 20 ms
// unconditionally); dropping them every 200 ms let a 1M-file walk reach
// 188 MB. Hence a check every 20 ms and a sweep only above the budget.
//
// Thread safety: Busy, ReleaseMappedPages and TrimSoon may be called from
// any thread; Busy is two relaxed atomic operations when the thread is
// awake (the hot path of every lookup, getattr, readdir and open).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn {

class MemoryUpkeep {
 public:
  struct Options {
    int64_t interval_ns = 20'000'000;       // resident-set check while busy
    uint64_t resident_budget = 80 << 20;    // drop the maps above this
    int64_t trim_interval_ns = 200'000'000;  // malloc_trim at most this often
    // Seams for tests: the resident set, malloc_trim and the clock.
    std::function<uint64_t()> resident_bytes;  // default ResidentBytes
    std::function<void()> trim;                // default malloc_trim(0)
    std::function<int64_t()> now_ns;           // default MonotonicNs
    bool start_thread = true;  // false: nothing runs but RunOnce (tests)
  };
  using ReleaseFn = std::function<void()>;

  // release: drops the mappings of every LMDB map the mount uses
  // (TreeCache and CacheDb ReleaseMappedPages); called on the upkeep thread
  // or by ReleaseMappedPages.
  MemoryUpkeep(ReleaseFn release, Options opts);
  explicit MemoryUpkeep(ReleaseFn release) : MemoryUpkeep(std::move(release), Options()) {}
  // Stops and joins the thread.
  ~MemoryUpkeep();
  MemoryUpkeep(const MemoryUpkeep&) = delete;
  MemoryUpkeep& operator=(const MemoryUpkeep&) = delete;

  // The mount is doing work: check the resident set at the next interval.
  void Busy() {
    if (!busy_.load(std::memory_order_relaxed)) {
      busy_.store(true, std::memory_order_relaxed);
      busy_.notify_one();
    }
  }
  // Drops the maps now, on the caller's thread: for a loop that maps
  // scattered pages faster than the interval (decoding a large directory
  // looks up every blob in the index).
  void ReleaseMappedPages() { release_(); }
  // Trim malloc at the next check, whatever the resident set (a large
  // directory's decoded entries were just freed into one thread's arena).
  void TrimSoon() {
    trim_wanted_.store(true, std::memory_order_relaxed);
    Busy();
  }

  // One check, as the thread makes it every interval while busy: drops the
  // maps above the budget, then trims when due (above the budget and the
  // trim interval passed, or TrimSoon). Public for tests.
  void RunOnce();

  // For tests and the unmount log.
  uint64_t checks() const { return checks_.load(); }
  uint64_t releases() const { return releases_.load(); }
  uint64_t trims() const { return trims_.load(); }

 private:
  void Loop();

  const ReleaseFn release_;
  const Options opts_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> trim_wanted_{false};
  int64_t last_trim_ns_ = 0;  // used by RunOnce's caller only (the thread)
  std::atomic<uint64_t> checks_{0}, releases_{0}, trims_{0};
  std::mutex mu_;  // guards stop_ (with cv_: the wait between checks)
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace cairn
