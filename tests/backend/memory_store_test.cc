#include "tests/support/memory_store.h"

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"memory", [] {
                           return std::unique_ptr<ObjectStore>(new MemoryStore());
                         }}));

}  // namespace
}  // namespace cairn
