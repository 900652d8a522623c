#include "tests/support/memory_store.h"

namespace cairn {

Result<Bytes> MemoryStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Err(Status::NotFound("memory: " + std::string(key)));
  const Bytes& b = it->second;
  if (offset > b.size()) return Err(Status::InvalidArgument("offset past the end"));
  uint64_t n = std::min<uint64_t>(length, b.size() - offset);
  return Bytes(b.begin() + static_cast<ptrdiff_t>(offset),
               b.begin() + static_cast<ptrdiff_t>(offset + n));
}

Result<ObjectInfo> MemoryStore::Head(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Err(Status::NotFound("memory: " + std::string(key)));
  return ObjectInfo{std::string(key), it->second.size()};
}

Status MemoryStore::List(std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> infos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.starts_with(prefix);
         ++it) {
      infos.push_back({it->first, it->second.size()});
    }
  }
  for (const auto& i : infos) CAIRN_RETURN_IF_ERROR(fn(i));  // fn may call back into the store
  return Status::OK();
}

Status MemoryStore::Put(std::string_view key, ByteView data, const PutOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (opts.if_not_exists && objects_.count(key)) {
    return Status::AlreadyExists("memory: " + std::string(key) + " already exists");
  }
  objects_[std::string(key)] = Bytes(data.begin(), data.end());
  return Status::OK();
}

Status MemoryStore::Delete(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return Status::OK();
}

std::optional<Bytes> MemoryStore::Raw(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::SetRaw(const std::string& key, Bytes data) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_[key] = std::move(data);
}

std::vector<std::string> MemoryStore::Keys(std::string_view prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, v] : objects_) {
    if (k.starts_with(prefix)) out.push_back(k);
  }
  return out;
}

}  // namespace cairn
