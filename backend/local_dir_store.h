// LocalDirStore: the embedded default store, objects as files under a root
// directory ("packs/3f/3f9a..." is <root>/packs/3f/3f9a...). Put writes a
// temporary file, fsyncs it, renames it into place and fsyncs the directory,
// so a crash never leaves a partial object under its key. Thread-safe: it
// holds no mutable state.
#pragma once

#include <string>

#include "backend/object_store.h"

namespace cairn {

class LocalDirStore final : public ObjectStore {
 public:
  explicit LocalDirStore(std::string root);

  Result<Bytes> Get(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Put(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override { return root_; }

  static constexpr std::string_view kTempPrefix = ".tmp-";

 private:
  std::string Path(std::string_view key) const;
  std::string root_;
};

}  // namespace cairn
