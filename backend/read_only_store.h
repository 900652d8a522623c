// ReadOnlyStore: refuses every write, for commands that must not modify the
// repository (restore, check, ls...). Thread-safe.
#pragma once

#include <memory>

#include "backend/object_store.h"

namespace cairn {

class ReadOnlyStore final : public ObjectStore {
 public:
  explicit ReadOnlyStore(std::unique_ptr<ObjectStore> base) : base_(std::move(base)) {}

  Result<Bytes> Get(std::string_view key, uint64_t offset, uint64_t length) override {
    return base_->Get(key, offset, length);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return base_->Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return base_->List(prefix, fn);
  }
  Status Put(std::string_view key, ByteView, const PutOptions&) override { return Refuse(key); }
  Status Delete(std::string_view key) override { return Refuse(key); }
  Status SetRetention(std::string_view key, LockMode, int64_t) override { return Refuse(key); }
  Result<int64_t> GetRetention(std::string_view key) override { return base_->GetRetention(key); }
  Status RequestRestore(std::string_view key, int) override { return Refuse(key); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  Status Refuse(std::string_view key) const {
    return Status::PermissionDenied(base_->Describe() + ": repository opened read-only (refused "
                                                        "to modify " +
                                    std::string(key) + ")");
  }
  std::unique_ptr<ObjectStore> base_;
};

}  // namespace cairn
