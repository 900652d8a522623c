// A fixed-size thread pool and a bounded blocking queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace cairn {

// Multi-producer multi-consumer FIFO with a capacity: Push blocks while full,
// Pop blocks while empty; after Close, Push fails and Pop drains then returns
// nullopt. All methods are thread-safe.
template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  bool Push(T v) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || q_.size() < capacity_; });
    if (closed_) return false;
    q_.push_back(std::move(v));
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;      // GUARDED_BY(mu_)
  bool closed_ = false;  // GUARDED_BY(mu_)
};

// Runs submitted tasks on `threads` workers. Submit blocks when `queue_limit`
// tasks are waiting (back-pressure). Wait() blocks until every submitted task
// has finished. The destructor waits, then joins.
class ThreadPool {
 public:
  explicit ThreadPool(size_t threads, size_t queue_limit = 1024);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  void Wait();
  size_t size() const { return workers_.size(); }

 private:
  void Run();

  BoundedQueue<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable idle_;
  size_t pending_ = 0;  // GUARDED_BY(mu_): submitted and not yet finished
  std::vector<std::thread> workers_;
};

// Number of worker threads to use by default: the online CPUs, at least 1.
size_t DefaultThreads();

}  // namespace cairn
