// ReadOnlyStore: passes reads through and refuses every write (Put, Delete,
// SetRetention, RequestRestore) with ReadOnly, for commands that must not
// modify the repository (restore, check, ls, mount of snapshots...).
// Refusing here, not in each command, means a code path that forgets it is
// read-only still cannot write. The refusal is ReadOnly, not Locked (which
// means S3 object lock or a prune lease) nor PermissionDenied (which means
// the store or the OS refused access). Thread-safe: the base store is, and
// the wrapper holds no mutable state.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "backend/forwarding_store.h"

namespace cairn {

class ReadOnlyStore final : public ForwardingStore {
 public:
  explicit ReadOnlyStore(std::unique_ptr<ObjectStore> base);

  // ReadOnly("<describe>: repository opened read-only (refused to ...)");
  // the base store is not called.
  Status Delete(std::string_view key) override;
  Status SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) override;
  Status RequestRestore(std::string_view key, int days) override;

 protected:
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;

 private:
  Status Refuse(std::string_view what, std::string_view key) const;
};

}  // namespace cairn
