#include "fs/memory_upkeep.h"

#include <malloc.h>

#include <chrono>

#include "common/clock.h"
#include "common/mapped_pages.h"

namespace cairn {

MemoryUpkeep::MemoryUpkeep(ReleaseFn release, Options opts)
    : release_(std::move(release)), opts_([&] {
        if (!opts.resident_bytes) opts.resident_bytes = [] { return ResidentBytes(); };
        if (!opts.trim) opts.trim = [] { malloc_trim(0); };
        if (!opts.now_ns) opts.now_ns = [] { return MonotonicNs(); };
        return std::move(opts);
      }()) {
  if (opts_.start_thread) thread_ = std::thread([this] { Loop(); });
}

MemoryUpkeep::~MemoryUpkeep() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  busy_.store(true);  // wakes the thread from its idle wait
  busy_.notify_one();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryUpkeep::RunOnce() {
  checks_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = opts_.now_ns();
  const bool over = opts_.resident_bytes() >= opts_.resident_budget;
  if (over) {
    release_();
    releases_.fetch_add(1, std::memory_order_relaxed);
  }
  // Trimming walks every arena: only when memory is over budget (or a
  // large free asked for it), and not more often than the trim interval.
  const bool asked = trim_wanted_.exchange(false, std::memory_order_relaxed);
  if ((over || asked) && now - last_trim_ns_ >= opts_.trim_interval_ns) {
    last_trim_ns_ = now;
    opts_.trim();
    trims_.fetch_add(1, std::memory_order_relaxed);
  } else if (asked) {
    trim_wanted_.store(true, std::memory_order_relaxed);  // when due
  }
}

void MemoryUpkeep::Loop() {
  for (;;) {
    busy_.wait(false);  // idle: sleep until the next Busy()
    {
      std::unique_lock<std::mutex> lock(mu_);
      // A check per interval while busy; the first after the interval, so
      // a burst of requests costs one check.
      if (cv_.wait_for(lock, std::chrono::nanoseconds(opts_.interval_ns), [&] { return stop_; })) {
        return;
      }
    }
    busy_.store(false, std::memory_order_relaxed);
    RunOnce();
  }
}

}  // namespace cairn
