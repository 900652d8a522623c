#include "backend/object_store.h"

namespace cairn {

Status ObjectStore::SetRetention(std::string_view key, LockMode, int64_t) {
  return Status::Unsupported(Describe() + ": object lock is not supported (key " +
                             std::string(key) + ")");
}

Result<ObjectLockConfig> ObjectStore::GetObjectLockConfig() { return ObjectLockConfig{}; }

Result<int64_t> ObjectStore::GetRetention(std::string_view) { return 0; }

Status ObjectStore::RequestRestore(std::string_view key, int) {
  return Status::Unsupported(Describe() + ": archive restore is not supported (key " +
                             std::string(key) + ")");
}

}  // namespace cairn
