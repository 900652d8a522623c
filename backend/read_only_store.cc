#include "backend/read_only_store.h"

namespace cairn {

ReadOnlyStore::ReadOnlyStore(std::unique_ptr<ObjectStore> base)
    : ForwardingStore(std::move(base)) {}

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
  return Status::ReadOnly(Describe() + ": repository opened read-only (refused to " +
                          std::string(what) + " " + std::string(key) + ")");
}

}  // namespace cairn
