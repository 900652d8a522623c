// The store conformance suite (restic backend test.Suite, kopia
// blobtesting.VerifyStorage): every ObjectStore implementation runs it.
// A test file instantiates it with
//   INSTANTIATE_TEST_SUITE_P(Name, StoreConformanceTest, ::testing::Values(factory));
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "backend/object_store.h"

namespace cairn {

struct StoreFactory {
  std::string name;
  // Returns a fresh, empty store; called once per test.
  std::function<std::unique_ptr<ObjectStore>()> make;
};

inline std::ostream& operator<<(std::ostream& os, const StoreFactory& f) { return os << f.name; }

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace cairn
