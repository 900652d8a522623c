#include "repo/disk_cache_writer.h"

namespace cairn {

DiskCacheWriter::DiskCacheWriter(Sink sink, uint64_t max_pending_bytes)
    : sink_(std::move(sink)), max_pending_(max_pending_bytes), thread_([this] { Loop(); }) {}

DiskCacheWriter::~DiskCacheWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool DiskCacheWriter::Queue(Write w, bool may_wait) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (may_wait && w.length <= max_pending_) {
      cv_.wait(lock, [&] { return stop_ || pending_bytes_ + w.length <= max_pending_; });
    }
    if (pending_bytes_ + w.length > max_pending_) {
      ++dropped_;
      return false;
    }
    pending_bytes_ += w.length;
    queue_.push_back(std::move(w));
  }
  cv_.notify_all();
  return true;
}

void DiskCacheWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is written
    Write w = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    sink_(w.id, ByteView(w.range->data() + w.offset, w.length));
    w.range.reset();  // the range's memory is freed before room is made for more
    lock.lock();
    busy_ = false;
    ++written_;
    pending_bytes_ -= w.length;
    cv_.notify_all();  // room for a waiting writer; maybe drained
  }
}

void DiskCacheWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

uint64_t DiskCacheWriter::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

uint64_t DiskCacheWriter::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace cairn
