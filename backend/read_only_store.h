// ReadOnlyStore: passes reads through and refuses every write (Put, Delete,
// SetRetention, RequestRestore) with PermissionDenied, for commands that must
// not modify the repository (restore, check, ls, mount of snapshots...).
// Refusing here, not in each command, means a code path that forgets it is
// read-only still cannot write. Thread-safe: the base store is, and the
// wrapper holds no mutable state.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "backend/object_store.h"

namespace cairn {

class ReadOnlyStore final : public ObjectStore {
 public:
  explicit ReadOnlyStore(std::unique_ptr<ObjectStore> base);

  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Result<int64_t> GetRetention(std::string_view key) override;
  std::string Describe() const override;

  // PermissionDenied("<describe>: repository opened read-only ...").
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  Status SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) override;
  Status RequestRestore(std::string_view key, int days) override;

 private:
  Status Refuse(std::string_view what, std::string_view key) const;

  const std::unique_ptr<ObjectStore> base_;
};

}  // namespace cairn
