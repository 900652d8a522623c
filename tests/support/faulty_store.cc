#include "tests/support/faulty_store.h"

#include <chrono>
#include <thread>

namespace cairn {

std::string_view StoreOpName(StoreOp op) {
  switch (op) {
    case StoreOp::kGet:
      return "GET";
    case StoreOp::kHead:
      return "HEAD";
    case StoreOp::kList:
      return "LIST";
    case StoreOp::kPut:
      return "PUT";
    case StoreOp::kDelete:
      return "DELETE";
  }
  return "?";
}

FaultyStore::FaultyStore(ObjectStore& base) : ForwardingStore(base) {}

FaultyStore::FaultyStore(std::unique_ptr<ObjectStore> base) : ForwardingStore(std::move(base)) {}

void FaultyStore::FailNth(StoreOp op, uint64_t k, Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  OpFaults& f = ops_[static_cast<size_t>(op)];
  f.nth.insert_or_assign(f.calls + k, std::move(s));
}

void FaultyStore::FailEvery(StoreOp op, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  OpFaults& f = ops_[static_cast<size_t>(op)];
  f.every = n;
  f.every_since = f.calls;
}

void FaultyStore::CorruptGets(std::string prefix, size_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  corrupt_.insert_or_assign(std::move(prefix), offset);
}

void FaultyStore::TruncateGets(std::string prefix, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  truncate_.insert_or_assign(std::move(prefix), max);
}

void FaultyStore::NoSpaceAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_limit_ = bytes;
  space_used_ = 0;
}

void FaultyStore::DelayMs(int64_t ms) { delay_ms_.store(ms); }

void FaultyStore::ClearFaults() {
  delay_ms_.store(0);
  std::lock_guard<std::mutex> lock(mu_);
  for (OpFaults& f : ops_) {
    f.nth.clear();
    f.every = 0;
  }
  corrupt_.clear();
  truncate_.clear();
  space_limit_ = kUnlimited;
  space_used_ = 0;
}

uint64_t FaultyStore::Calls(StoreOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_[static_cast<size_t>(op)].calls;
}

uint64_t FaultyStore::BytesRead() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_read_;
}

uint64_t FaultyStore::BytesWritten() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_written_;
}

uint64_t FaultyStore::InjectedFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

Status FaultyStore::Enter(StoreOp op, std::string_view key) {
  if (int64_t d = delay_ms_.load(); d > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(d));
  std::lock_guard<std::mutex> lock(mu_);
  OpFaults& f = ops_[static_cast<size_t>(op)];
  const uint64_t n = ++f.calls;
  if (auto it = f.nth.find(n); it != f.nth.end()) {
    Status s = std::move(it->second);
    f.nth.erase(it);
    ++injected_;
    return s;
  }
  if (f.every != 0 && (n - f.every_since) % f.every == 0) {
    ++injected_;
    return Status::Transient("injected fault: " + std::string(StoreOpName(op)) + " " +
                             std::string(key) + " (call " + std::to_string(n) + ")");
  }
  return Status::OK();
}

void FaultyStore::Damage(std::string_view key, Bytes& data) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [prefix, max] : truncate_) {
    if (key.starts_with(prefix) && data.size() > max) data.resize(max);
  }
  for (const auto& [prefix, offset] : corrupt_) {
    if (!key.starts_with(prefix) || data.empty()) continue;
    size_t at = offset;
    if (at == kRandomOffset) {
      uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);  // splitmix64
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      at = static_cast<size_t>((z ^ (z >> 31)) % data.size());
    }
    if (at < data.size()) data[at] ^= 0x01;
  }
  bytes_read_ += data.size();
}

Result<Bytes> FaultyStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kGet, key));
  auto r = target().Get(key, offset, length);
  if (r) Damage(key, *r);
  return r;
}

Result<ObjectInfo> FaultyStore::Head(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kHead, key));
  return target().Head(key);
}

Status FaultyStore::List(std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kList, prefix));
  return target().List(prefix, fn);
}

Status FaultyStore::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kPut, key));
  {
    // Reserve the space first so concurrent Puts cannot overshoot the limit.
    std::lock_guard<std::mutex> lock(mu_);
    if (space_limit_ != kUnlimited) {
      if (data.size() > space_limit_ - space_used_) {
        ++injected_;
        return Status::NoSpace("injected: no space left storing " + std::string(key) + " (" +
                               std::to_string(data.size()) + " bytes)");
      }
      space_used_ += data.size();
    }
  }
  Status s = target().Put(key, data, opts);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    bytes_written_ += data.size();
  } else if (space_limit_ != kUnlimited) {
    space_used_ -= std::min<uint64_t>(space_used_, data.size());
  }
  return s;
}

Status FaultyStore::Delete(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(Enter(StoreOp::kDelete, key));
  return target().Delete(key);
}

}  // namespace cairn
