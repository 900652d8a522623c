// ByteBudget: bounds the bytes that concurrent workers hold at once (e.g.
// the index segments SyncIndex's workers decode in parallel).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace cairn {

// Acquire(n) blocks until n more bytes fit under the limit, or nothing is
// held: an item larger than the limit still goes, but alone, so the total
// held never exceeds max(limit, the largest single item). All methods are
// thread-safe.
class ByteBudget {
 public:
  explicit ByteBudget(uint64_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  void Acquire(uint64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    freed_.wait(lock, [&] { return held_ == 0 || held_ + n <= limit_; });
    held_ += n;
    if (held_ > peak_) peak_ = held_;
  }
  // n must be what one Acquire took.
  void Release(uint64_t n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ -= n;
    }
    freed_.notify_all();
  }
  // The highest total held so far (for tests and logs).
  uint64_t peak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

  // Holds n bytes of the budget for its lifetime.
  class Hold {
   public:
    Hold(ByteBudget& b, uint64_t n) : b_(b), n_(n) { b_.Acquire(n_); }
    ~Hold() { b_.Release(n_); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    ByteBudget& b_;
    uint64_t n_;
  };

 private:
  const uint64_t limit_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  uint64_t held_ = 0;  // GUARDED_BY(mu_)
  uint64_t peak_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace cairn
