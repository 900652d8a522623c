#include "backend/read_only_store.h"

namespace cairn {

ReadOnlyStore::ReadOnlyStore(std::unique_ptr<ObjectStore> base) : base_(std::move(base)) {}

Result<Bytes> ReadOnlyStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  return base_->Get(key, offset, length);
}

Result<ObjectInfo> ReadOnlyStore::Head(std::string_view key) { return base_->Head(key); }

Status ReadOnlyStore::List(std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  return base_->List(prefix, fn);
}

Result<int64_t> ReadOnlyStore::GetRetention(std::string_view key) {
  return base_->GetRetention(key);
}

std::string ReadOnlyStore::Describe() const { return base_->Describe(); }

Status ReadOnlyStore::DoPut(std::string_view key, ByteView, const PutOptions&) {
  return Refuse("write", key);
}

Status ReadOnlyStore::Delete(std::string_view key) { return Refuse("delete", key); }

Status ReadOnlyStore::SetRetention(std::string_view key, LockMode, int64_t) {
  return Refuse("change the retention of", key);
}

Status ReadOnlyStore::RequestRestore(std::string_view key, int) {
  return Refuse("request a restore of", key);
}

Status ReadOnlyStore::Refuse(std::string_view what, std::string_view key) const {
  return Status::PermissionDenied(base_->Describe() + ": repository opened read-only (refused to " +
                                  std::string(what) + " " + std::string(key) + ")");
}

}  // namespace cairn
