// BorrowedStore: lets a Repository (which owns its store) use a store the
// test keeps and inspects or damages meanwhile. Every call is forwarded.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "backend/object_store.h"

namespace cairn {

class BorrowedStore final : public ObjectStore {
 public:
  explicit BorrowedStore(ObjectStore& s) : s_(s) {}
  Result<ObjectInfo> Head(std::string_view k) override { return s_.Head(k); }
  Status List(std::string_view p, const std::function<Status(const ObjectInfo&)>& fn) override {
    return s_.List(p, fn);
  }
  Status Delete(std::string_view k) override { return s_.Delete(k); }
  std::string Describe() const override { return s_.Describe(); }

 protected:
  Result<Bytes> DoGet(std::string_view k, uint64_t o, uint64_t l) override {
    return s_.Get(k, o, l);
  }
  Status DoPut(std::string_view k, ByteView d, const PutOptions& o) override {
    return s_.Put(k, d, o);
  }

 private:
  ObjectStore& s_;
};

}  // namespace cairn
