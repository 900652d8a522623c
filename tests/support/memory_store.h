// MemoryStore: an ObjectStore in a std::map, for unit tests. It follows the
// same contract as LocalDirStore (if_not_exists, ranges, prefix listing) and
// passes the same conformance suite, so code tested on it behaves the same on
// disk. Objects are copied in and out, never shared.
//
// Thread-safe: one mutex guards the map. List copies the matching entries
// first and calls fn without the lock, so fn may call back into the store.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/object_store.h"

namespace cairn {

class MemoryStore final : public ObjectStore {
 public:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return "memory"; }
  // Local (no latency to hide), like LocalDirStore; no S3 features.
  StoreTraits Traits() const override { return {}; }

  // --- Test access to the raw objects, bypassing the ObjectStore API. ---

  // A copy of the object, or nullopt when absent.
  std::optional<Bytes> Raw(std::string_view key) const;
  // Stores data under key, replacing any object.
  void SetRaw(std::string_view key, Bytes data);
  // Calls fn on the stored object in place, under the lock (e.g. to flip a
  // byte or truncate it). False when the key is absent.
  bool MutateRaw(std::string_view key, const std::function<void(Bytes&)>& fn);
  // Keys starting with prefix, sorted.
  std::vector<std::string> Keys(std::string_view prefix = "") const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Bytes, std::less<>> objects_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
