// MemoryStore: an ObjectStore in a map, for unit tests. Same contract as
// LocalDirStore. Thread-safe (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <optional>

#include "backend/object_store.h"

namespace cairn {

class MemoryStore final : public ObjectStore {
 public:
  Result<Bytes> Get(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Put(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return "memory"; }

  // Test access to the raw objects.
  std::optional<Bytes> Raw(const std::string& key) const;
  void SetRaw(const std::string& key, Bytes data);
  std::vector<std::string> Keys(std::string_view prefix = "") const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Bytes, std::less<>> objects_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
