// ForwardingStore: the base of every store wrapper (LevelDB's EnvWrapper).
// It forwards every ObjectStore method, traits included, to a target store,
// so a wrapper overrides only what it changes and a method added to
// ObjectStore later reaches the target through every wrapper instead of
// silently falling back to ObjectStore's default.
//
// The target is either owned (the wrappers OpenStore composes) or borrowed
// (tests that keep the inner store to inspect or damage it); a borrowed
// target must outlive the wrapper.
//
// Thread-safe when the target is: the wrapper itself holds no mutable state.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "backend/object_store.h"

namespace cairn {

class ForwardingStore : public ObjectStore {
 public:
  // Owns target (not null).
  explicit ForwardingStore(std::unique_ptr<ObjectStore> target)
      : owned_(std::move(target)), target_(*owned_) {}
  // Borrows target, which must outlive this store.
  explicit ForwardingStore(ObjectStore& target) : target_(target) {}

  ForwardingStore(const ForwardingStore&) = delete;
  ForwardingStore& operator=(const ForwardingStore&) = delete;

  // The wrapped store.
  ObjectStore& target() const { return target_; }

  Result<ObjectInfo> Head(std::string_view key) override { return target_.Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return target_.List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return target_.Delete(key); }
  std::string Describe() const override { return target_.Describe(); }
  StoreTraits Traits() const override { return target_.Traits(); }
  Result<ObjectLockConfig> GetObjectLockConfig() override {
    return target_.GetObjectLockConfig();
  }
  Status SetRetention(std::string_view key, LockMode mode, int64_t retain_until_ns) override {
    return target_.SetRetention(key, mode, retain_until_ns);
  }
  Result<int64_t> GetRetention(std::string_view key) override {
    return target_.GetRetention(key);
  }
  Status RequestRestore(std::string_view key, int days) override {
    return target_.RequestRestore(key, days);
  }

 protected:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override {
    return target_.Get(key, offset, length);
  }
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override {
    return target_.Put(key, data, opts);
  }

 private:
  const std::unique_ptr<ObjectStore> owned_;  // null when borrowed
  ObjectStore& target_;
};

}  // namespace cairn
