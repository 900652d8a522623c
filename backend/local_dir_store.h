// LocalDirStore: the embedded default store, objects as files under a root
// directory ("packs/3f/3f9a..." is <root>/packs/3f/3f9a...).
//
// Put writes "<dir>/.tmp-<random>", syncs it, renames it into place and syncs
// the directory, so a crash never leaves a partial object under its key and
// an acknowledged Put survives a crash. With PutOptions::if_not_exists the
// rename is renameat2(RENAME_NOREPLACE) (or link()+unlink() where the file
// system lacks it), so the no-overwrite check is atomic. Missing parent
// directories (the root included) are created, mode 0700; files are 0600.
//
// List skips ".tmp-" files (a crashed Put's leftovers, or one in flight) and
// anything that is neither a regular file nor a directory (symlinks are not
// followed while walking). Keys are checked by CheckKey: a key that could
// escape the root or name a temporary file is InvalidArgument.
//
// errno becomes a Status here and nowhere else in backend/ (doc/architecture.md);
// messages name the operation and the full path.
//
// Thread-safe: the store holds no mutable state; concurrent Puts of one key
// each rename a whole file into place, the last one wins.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "backend/object_store.h"

namespace cairn {

// A write that never completed, as ListIncomplete reports it.
struct IncompleteWrite {
  std::string name;      // relative to the root, e.g. "packs/3f/.tmp-91c2..."
  uint64_t size = 0;     // bytes written before it stopped
  int64_t mtime_ns = 0;  // when it was last written to
};

class LocalDirStore final : public ObjectStore {
 public:
  // root need not exist yet; trailing slashes are dropped.
  explicit LocalDirStore(std::string root);

  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override;
  Status Delete(std::string_view key) override;
  // Calls fn for each ".tmp-" file under the directory part of prefix: a
  // Put stopped by a crash or a second Ctrl-C, or one still in progress in
  // another process (see mtime_ns). List never shows them.
  Status ListIncomplete(std::string_view prefix,
                        const std::function<Status(const IncompleteWrite&)>& fn) const;
  // The root directory, as given.
  std::string Describe() const override { return root_; }
  // Local, no connection count, no object lock, storage classes or restore.
  StoreTraits Traits() const override { return {}; }

  // Name prefix of temporary files; never part of a valid key.
  static constexpr std::string_view kTempPrefix = ".tmp-";

  // OK when key is a relative '/'-separated name whose components are
  // non-empty, not "." or "..", and do not start with kTempPrefix; else
  // InvalidArgument naming the key.
  static Status CheckKey(std::string_view key);

 private:
  std::string Path(std::string_view key) const;
  Status ListDir(const std::string& dir, const std::string& rel, std::string_view name_prefix,
                 const std::function<Status(const ObjectInfo&)>& fn) const;

  const std::string root_;
};

// The leftovers of interrupted writes of store: those of the LocalDirStore
// it is or wraps (through ForwardingStore::target()), none for any other
// store (an S3 PUT is atomic and leaves nothing behind).
Status ListIncompleteWrites(ObjectStore& store, std::string_view prefix,
                            const std::function<Status(const IncompleteWrite&)>& fn);

}  // namespace cairn
