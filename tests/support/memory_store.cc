#include "tests/support/memory_store.h"

#include <algorithm>

namespace cairn {

namespace {

Status Missing(std::string_view key) {
  return Status::NotFound("memory:" + std::string(key) + ": no such object");
}

}  // namespace

Result<Bytes> MemoryStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Err(Missing(key));
  const Bytes& b = it->second;
  if (offset > b.size()) {
    return Err(Status::OutOfRange("memory:" + std::string(key) + ": offset " +
                                  std::to_string(offset) + " is past the end (" +
                                  std::to_string(b.size()) + " bytes)"));
  }
  const uint64_t n = std::min<uint64_t>(length, b.size() - offset);
  const auto first = b.begin() + static_cast<ptrdiff_t>(offset);
  return Bytes(first, first + static_cast<ptrdiff_t>(n));
}

Result<ObjectInfo> MemoryStore::Head(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Err(Missing(key));
  return ObjectInfo{std::string(key), it->second.size()};
}

Status MemoryStore::List(std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> infos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && it->first.starts_with(prefix); ++it) {
      infos.push_back({it->first, it->second.size()});
    }
  }
  for (const auto& info : infos) CAIRN_RETURN_IF_ERROR(fn(info));
  return Status::OK();
}

Status MemoryStore::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  Bytes copy(data.begin(), data.end());  // copied before taking the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    if (opts.if_not_exists) {
      return Status::AlreadyExists("memory:" + std::string(key) +
                                   ": the object already exists (refused to overwrite it)");
    }
    it->second = std::move(copy);
  } else {
    objects_.emplace(std::string(key), std::move(copy));
  }
  return Status::OK();
}

Status MemoryStore::Delete(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return Status::OK();
}

std::optional<Bytes> MemoryStore::Raw(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::SetRaw(std::string_view key, Bytes data) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.insert_or_assign(std::string(key), std::move(data));
}

bool MemoryStore::MutateRaw(std::string_view key, const std::function<void(Bytes&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return false;
  fn(it->second);
  return true;
}

std::vector<std::string> MemoryStore::Keys(std::string_view prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(it->first);
  }
  return out;
}

}  // namespace cairn
