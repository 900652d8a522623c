#include "tests/support/faulty_store.h"

#include <chrono>
#include <thread>

namespace cairn {

void FaultyStore::FailNth(StoreOp op, uint64_t k, Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  nth_[op][calls_[op] + k] = std::move(s);
}

void FaultyStore::FailEvery(StoreOp op, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  every_[op] = n;
}

void FaultyStore::CorruptGets(std::string prefix, size_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  corrupt_prefix_ = std::move(prefix);
  corrupt_offset_ = offset;
  corrupt_ = true;
}

void FaultyStore::TruncateGets(std::string prefix, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  truncate_prefix_ = std::move(prefix);
  truncate_max_ = max;
  truncate_ = true;
}

void FaultyStore::NoSpaceAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_left_ = bytes;
}

uint64_t FaultyStore::Calls(StoreOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

Status FaultyStore::Enter(StoreOp op, std::string_view key) {
  if (int64_t d = delay_ms_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(d));
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = ++calls_[op];
  auto& nth = nth_[op];
  if (auto it = nth.find(n); it != nth.end()) {
    Status s = it->second;
    nth.erase(it);
    return s;
  }
  if (uint64_t every = every_[op]; every && n % every == 0) {
    return Status::Transient("injected fault on " + std::string(key) + " (call " +
                             std::to_string(n) + ")");
  }
  return Status::OK();
}

Result<Bytes> FaultyStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kGet, key));
  auto r = base_.Get(key, offset, length);
  if (!r) return r;
  std::lock_guard<std::mutex> lock(mu_);
  if (truncate_ && key.starts_with(truncate_prefix_) && r->size() > truncate_max_) {
    r->resize(truncate_max_);
  }
  if (corrupt_ && key.starts_with(corrupt_prefix_) && corrupt_offset_ < r->size()) {
    (*r)[corrupt_offset_] ^= 0x01;
  }
  bytes_read_ += r->size();
  return r;
}

Result<ObjectInfo> FaultyStore::Head(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kHead, key));
  return base_.Head(key);
}

Status FaultyStore::List(std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kList, prefix));
  return base_.List(prefix, fn);
}

Status FaultyStore::Put(std::string_view key, ByteView data, const PutOptions& opts) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kPut, key));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (data.size() > space_left_) {
      return Status::NoSpace("injected: no space left storing " + std::string(key));
    }
    if (space_left_ != UINT64_MAX) space_left_ -= data.size();
  }
  return base_.Put(key, data, opts);
}

Status FaultyStore::Delete(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kDelete, key));
  return base_.Delete(key);
}

}  // namespace cairn
