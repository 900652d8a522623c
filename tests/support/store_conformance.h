// The store conformance suite (restic backend test.Suite, kopia
// blobtesting.VerifyStorage): every ObjectStore implementation and wrapper
// runs the same cases against the contract in backend/object_store.h.
// The TEST_Ps live in store_conformance.cc; a test file only instantiates:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
//       ::testing::Values(StoreFactory{"memory", [] { return std::make_unique<MemoryStore>(); }}),
//       StoreFactoryName());
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "backend/object_store.h"

namespace cairn {

// A new empty directory "/tmp/cairn-<tag>-XXXXXX" for an on-disk store under
// test; adds a test failure and returns "" when it cannot be made.
std::string MakeTempDir(std::string_view tag);

// Forwards every call to inner and removes dir recursively when destroyed,
// so factories can hand out on-disk stores that clean up after themselves.
// Thread-safe when inner is.
class DirOwningStore final : public ObjectStore {
 public:
  DirOwningStore(std::unique_ptr<ObjectStore> inner, std::string dir)
      : inner_(std::move(inner)), dir_(std::move(dir)) {}
  ~DirOwningStore() override;

  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override {
    return inner_->Get(key, offset, length);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return inner_->Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(prefix, fn);
  }
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override {
    return inner_->Put(key, data, opts);
  }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  std::unique_ptr<ObjectStore> inner_;
  std::string dir_;
};

struct StoreFactory {
  std::string name;  // letters, digits and '_' (it becomes part of test names)
  // Returns a fresh, empty store; called once per test. The store is
  // destroyed at the end of the test, so it may own (and then remove) a
  // temporary directory.
  std::function<std::unique_ptr<ObjectStore>()> make;
};

inline std::ostream& operator<<(std::ostream& os, const StoreFactory& f) { return os << f.name; }

// Names instantiated tests after the factory: ".../memory" instead of ".../0".
struct StoreFactoryName {
  std::string operator()(const ::testing::TestParamInfo<StoreFactory>& info) const {
    return info.param.name;
  }
};

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  // Calls through the interface, where Get/Put have their default arguments.
  ObjectStore& store() { return *store_; }

  std::unique_ptr<ObjectStore> store_;
};

}  // namespace cairn
