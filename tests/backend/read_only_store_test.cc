// ReadOnlyStore keeps the read half of the store contract and refuses every
// write with ReadOnly (not Locked, which is S3 object lock or a prune lease,
// and not PermissionDenied, which is a refusal by the store itself).
#include "backend/read_only_store.h"

#include <gtest/gtest.h>

#include "backend/retrying_store.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

ReadOnlyStores MakeReadOnlyOverMemory() {
  ReadOnlyStores s;
  s.writable = std::make_unique<MemoryStore>();
  s.read_only = std::make_unique<ReadOnlyStore>(std::make_unique<ForwardingStore>(*s.writable));
  return s;
}

// As OpenStore composes it: read-only outermost, over retries, over a store
// where one read in three fails with Transient.
ReadOnlyStores MakeReadOnlyOverRetryingOverFaulty() {
  ReadOnlyStores s;
  s.writable = std::make_unique<MemoryStore>();
  auto faulty = std::make_unique<FaultyStore>(*s.writable);
  for (StoreOp op : {StoreOp::kGet, StoreOp::kHead, StoreOp::kList}) faulty->FailEvery(op, 3);
  RetryPolicy retry;
  retry.max_retries = 20;
  s.read_only = std::make_unique<ReadOnlyStore>(
      std::make_unique<RetryingStore>(std::move(faulty), retry, [](int64_t) {}));
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    ReadOnly, ReadOnlyStoreConformanceTest,
    ::testing::Values(ReadOnlyStoreFactory{"over_memory", MakeReadOnlyOverMemory},
                      ReadOnlyStoreFactory{"over_retrying_over_one_in_three_failing",
                                           MakeReadOnlyOverRetryingOverFaulty}),
    StoreFactoryName());

TEST(ReadOnlyStoreTest, RefusalNamesTheRepositoryAndTheKey) {
  MemoryStore mem;
  ReadOnlyStore ro(std::make_unique<ForwardingStore>(mem));
  Status s = ro.Put("snapshots/abc", AsBytes("x"));
  EXPECT_EQ(s.code(), ErrorCode::kReadOnly);
  EXPECT_EQ(s.message(), "memory: repository opened read-only (refused to write snapshots/abc)");
  EXPECT_FALSE(mem.Raw("snapshots/abc"));
}

}  // namespace
}  // namespace cairn
