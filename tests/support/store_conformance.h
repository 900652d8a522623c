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

#include "backend/forwarding_store.h"

namespace cairn {

// A new empty directory "/tmp/cairn-<tag>-XXXXXX" for an on-disk store under
// test; adds a test failure and returns "" when it cannot be made.
std::string MakeTempDir(std::string_view tag);

// Removes a directory tree when destroyed.
class DirRemover {
 public:
  explicit DirRemover(std::string dir) : dir_(std::move(dir)) {}
  ~DirRemover();
  DirRemover(const DirRemover&) = delete;
  DirRemover& operator=(const DirRemover&) = delete;

 private:
  std::string dir_;
};

// Forwards every call to inner and removes dir recursively when destroyed,
// so factories can hand out on-disk stores that clean up after themselves.
// DirRemover is the first base, so it is destroyed last: inner is gone
// before its directory is removed. Thread-safe when inner is.
class DirOwningStore final : private DirRemover, public ForwardingStore {
 public:
  DirOwningStore(std::unique_ptr<ObjectStore> inner, std::string dir)
      : DirRemover(std::move(dir)), ForwardingStore(std::move(inner)) {}
};

struct StoreFactory {
  std::string name;  // letters, digits and '_' (it becomes part of test names)
  // Returns a fresh, empty store; called once per test. The store is
  // destroyed at the end of the test, so it may own (and then remove) a
  // temporary directory.
  std::function<std::unique_ptr<ObjectStore>()> make;
};

inline std::ostream& operator<<(std::ostream& os, const StoreFactory& f) { return os << f.name; }

// A store that refuses every write (ReadOnlyStore, alone or inside other
// wrappers) and a writable store over the same objects, through which the
// read-only cases put what they then read.
struct ReadOnlyStores {
  std::unique_ptr<ObjectStore> writable;
  std::unique_ptr<ObjectStore> read_only;  // destroyed before writable
};

struct ReadOnlyStoreFactory {
  std::string name;  // as StoreFactory::name
  // Returns fresh stores over an empty set of objects; called once per test.
  std::function<ReadOnlyStores()> make;
};

inline std::ostream& operator<<(std::ostream& os, const ReadOnlyStoreFactory& f) {
  return os << f.name;
}

// Names instantiated tests after the factory: ".../memory" instead of ".../0".
struct StoreFactoryName {
  template <class Factory>
  std::string operator()(const ::testing::TestParamInfo<Factory>& info) const {
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

// The read cases of the contract on a read-only store, and every write
// refused with ReadOnly without reaching the store beneath:
//
//   INSTANTIATE_TEST_SUITE_P(ReadOnly, ReadOnlyStoreConformanceTest,
//       ::testing::Values(ReadOnlyStoreFactory{"over_memory", MakeReadOnlyOverMemory}),
//       StoreFactoryName());
class ReadOnlyStoreConformanceTest : public ::testing::TestWithParam<ReadOnlyStoreFactory> {
 protected:
  void SetUp() override {
    stores_ = GetParam().make();
    ASSERT_NE(stores_.writable, nullptr);
    ASSERT_NE(stores_.read_only, nullptr);
  }
  void TearDown() override {
    stores_.read_only.reset();
    stores_.writable.reset();
  }

  // The store under test.
  ObjectStore& store() { return *stores_.read_only; }
  // Puts the objects the cases read.
  ObjectStore& writer() { return *stores_.writable; }

  ReadOnlyStores stores_;
};

}  // namespace cairn
