// ObjectPool<T>: reuses expensive per-thread objects (zstd contexts, read
// buffers) across tasks that run on changing threads. Acquire() hands out a
// Lease that returns the object when it goes out of scope. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cairn {

template <class T>
class ObjectPool {
 public:
  explicit ObjectPool(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}

  class Lease {
   public:
    Lease(ObjectPool& pool, std::unique_ptr<T> obj) : pool_(&pool), obj_(std::move(obj)) {}
    ~Lease() {
      if (obj_) pool_->Return(std::move(obj_));
    }
    Lease(Lease&& o) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    T& operator*() { return *obj_; }
    T* operator->() { return obj_.get(); }

   private:
    ObjectPool* pool_;
    std::unique_ptr<T> obj_;
  };

  Lease Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto obj = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(obj));
      }
    }
    return Lease(*this, make_());
  }

 private:
  void Return(std::unique_ptr<T> obj) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(obj));
  }

  std::function<std::unique_ptr<T>()> make_;
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
