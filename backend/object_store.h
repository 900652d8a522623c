// ObjectStore: the one narrow seam between cairn and where bytes live
// (a local directory, S3, or a test double). Keys are '/'-separated relative
// names such as "packs/3f/3f9a...". Objects are immutable once written:
// cairn never overwrites a key with different bytes.
//
// Thread safety: every method of every implementation may be called
// concurrently from any number of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

struct ObjectInfo {
  std::string key;    // full key, e.g. "index/ab12..."
  uint64_t size = 0;  // bytes
};

enum class LockMode : unsigned char { kNone, kGovernance, kCompliance };

// What a store can do and what one request costs, so callers choose their
// parallelism and features from the opened store instead of from the form of
// its location (restic's backend Properties()). Wrappers report the traits of
// the store they wrap.
struct StoreTraits {
  enum class Latency : unsigned char {
    kLocal,   // a request costs a system call on a local disk
    kRemote,  // a request costs a network round trip: worth reading ahead,
              // caching on local disk and keeping several requests in flight
  };
  Latency latency = Latency::kLocal;
  // Requests worth keeping in flight at once (an S3 store's connections);
  // 0: the store sets no number of its own, callers size threads to the CPU.
  unsigned connections = 0;
  bool object_lock = false;      // PutOptions::lock_mode and Set/GetRetention work
  bool storage_classes = false;  // PutOptions::storage_class is honoured
  bool archive_restore = false;  // RequestRestore works (archived storage classes)

  bool remote() const { return latency == Latency::kRemote; }
};

struct PutOptions {
  // Fail with AlreadyExists if the key exists (S3 If-None-Match: *). Stores
  // that cannot enforce it atomically check first and say so in Describe().
  bool if_not_exists = false;
  std::string storage_class;             // empty: the store's default
  // Object lock (WORM): the object is written with this mode and
  // retain-until (rounded up to the second), on the write itself. Only for
  // stores whose GetObjectLockConfig() says enabled.
  LockMode lock_mode = LockMode::kNone;
  int64_t retain_until_ns = 0;           // with lock_mode
};

// Whether a store can lock the objects written to it (an S3 bucket created
// with Object Lock), and the bucket's default retention, which cairn never
// relies on: every object it writes carries its own lock.
struct ObjectLockConfig {
  bool enabled = false;
  LockMode default_mode = LockMode::kNone;  // kNone: no default retention
  int64_t default_retention_s = 0;          // with default_mode
};

class ObjectStore {
 public:
  static constexpr uint64_t kToEnd = UINT64_MAX;

  virtual ~ObjectStore() = default;

  // Reads bytes [offset, offset+length) of the object; length kToEnd reads to
  // the end. A range reaching past the end returns the bytes that exist (the
  // caller checks the length it needs); a range starting exactly at the end
  // returns no bytes. NotFound when the key is absent; OutOfRange when offset
  // is beyond the end (for a pack, that means it is truncated).
  Result<Bytes> Get(std::string_view key, uint64_t offset = 0, uint64_t length = kToEnd) {
    return DoGet(key, offset, length);
  }

  // Size of the object; NotFound when absent.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;

  // Calls fn for every object whose key starts with prefix, in no particular
  // order. Stops early and returns fn's error if fn fails. A prefix that
  // matches nothing is not an error.
  virtual Status List(std::string_view prefix,
                      const std::function<Status(const ObjectInfo&)>& fn) = 0;

  // Stores data under key atomically: a reader sees either no object or all
  // of it, and a crash never leaves a partial object under the key. When Put
  // returns OK the object is durable.
  Status Put(std::string_view key, ByteView data, const PutOptions& opts = {}) {
    return DoPut(key, data, opts);
  }

  // Removes the object. Deleting an absent key is OK (idempotent).
  virtual Status Delete(std::string_view key) = 0;

  // Human-readable location for messages, e.g. "/srv/repo" or "s3://b/p".
  virtual std::string Describe() const = 0;

  // What the store can do and what its requests cost. The default is a
  // local store with none of the features below; every store declares its
  // own. Constant for the store's lifetime.
  virtual StoreTraits Traits() const { return {}; }

  // --- What S3 adds (StoreTraits says which). Stores without the feature
  // return Unsupported. ---

  // Whether writes can carry a lock here. Local stores: never (the
  // default); S3: asks the bucket (GetObjectLockConfiguration) on each
  // call, so callers ask once.
  virtual Result<ObjectLockConfig> GetObjectLockConfig();
  // Extends the object-lock retention of an existing object.
  virtual Status SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns);
  // Current retain-until of the object (0 when none).
  virtual Result<int64_t> GetRetention(std::string_view key);
  // Asks for a temporary restored copy of an archived (GLACIER...) object.
  virtual Status RequestRestore(std::string_view key, int days);

 protected:
  // Get and Put are non-virtual so their default arguments hold whatever
  // the static type of the store; implementations override these.
  virtual Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) = 0;
  virtual Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) = 0;
};

}  // namespace cairn
