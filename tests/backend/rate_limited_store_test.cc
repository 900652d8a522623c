#include "backend/rate_limited_store.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

// Limits low enough that almost every call waits, with a sleep that only
// advances a fake clock, so the suite runs at full speed through the
// bucket's arithmetic and the wrapper keeps the whole contract.
std::unique_ptr<ObjectStore> MakeLimitedOverMemory() {
  auto now = std::make_shared<std::atomic<int64_t>>(1'000'000'000);
  return std::make_unique<RateLimitedStore>(
      std::make_unique<MemoryStore>(), /*upload*/ 64, /*download*/ 64,
      [now] { return now->load(); }, [now](int64_t ns) { now->fetch_add(ns); });
}

// One direction limited, the other not.
std::unique_ptr<ObjectStore> MakeUploadLimitedOverMemory() {
  return std::make_unique<RateLimitedStore>(std::make_unique<MemoryStore>(), /*upload*/ 1 << 20,
                                            /*download*/ 0, TokenBucket::NowFn{},
                                            [](int64_t) {});
}

INSTANTIATE_TEST_SUITE_P(RateLimited, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"over_memory", MakeLimitedOverMemory},
                                           StoreFactory{"upload_only_over_memory",
                                                        MakeUploadLimitedOverMemory}),
                         StoreFactoryName());

TEST(TokenBucketTest, ReservationsAccumulateAcrossCallers) {
  int64_t now = 10'000'000'000;
  TokenBucket b(1024 * 1024, 64 * 1024, [&] { return now; });
  // After an idle spell only the burst is free.
  EXPECT_EQ(b.Reserve(64 * 1024), 0);
  // 1 MiB more at 1 MiB/s: a full second of waiting.
  EXPECT_NEAR(b.Reserve(1024 * 1024), 1'000'000'000, 1000);
  // Another caller queues behind the first.
  EXPECT_NEAR(b.Reserve(512 * 1024), 1'500'000'000, 1000);
  now += 1'500'000'000;
  EXPECT_NEAR(b.Reserve(0), 0, 1000);
  now += 60'000'000'000;  // long idle: credit capped at the burst
  EXPECT_EQ(b.Reserve(64 * 1024), 0);
  EXPECT_GT(b.Reserve(1024), 0);
}

TEST(RateLimitedStoreTest, UploadAndDownloadAreLimitedSeparately) {
  int64_t now = 5'000'000'000;
  int64_t slept = 0;
  auto base = std::make_unique<MemoryStore>();
  RateLimitedStore s(std::move(base), /*upload*/ 100, /*download*/ 0, [&] { return now; },
                     [&](int64_t ns) {
                       slept += ns;
                       now += ns;
                     });
  Bytes data(300 * 1024, 7);
  ASSERT_TRUE(s.Put("a", data).ok());  // 300 KiB at 100 KiB/s, 100 KiB burst
  EXPECT_NEAR(static_cast<double>(slept), 2e9, 1e6);
  ASSERT_TRUE(s.Put("b", data).ok());
  EXPECT_NEAR(static_cast<double>(slept), 5e9, 1e6);
  slept = 0;
  auto got = s.Get("a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), data.size());
  EXPECT_EQ(slept, 0);  // no download limit
  EXPECT_EQ(s.Head("a")->size, data.size());
}

TEST(RateLimitedStoreTest, DownloadLimitCountsReceivedBytes) {
  int64_t now = 5'000'000'000;
  int64_t slept = 0;
  auto base = std::make_unique<MemoryStore>();
  ASSERT_TRUE(base->Put("a", Bytes(200 * 1024, 1)).ok());
  RateLimitedStore s(std::move(base), 0, 100, [&] { return now; }, [&](int64_t ns) {
    slept += ns;
    now += ns;
  });
  ASSERT_TRUE(s.Get("a", 0, 100 * 1024));  // within the burst
  EXPECT_EQ(slept, 0);
  ASSERT_TRUE(s.Get("a"));  // 200 KiB more
  EXPECT_NEAR(static_cast<double>(slept), 2e9, 1e6);
}

}  // namespace
}  // namespace cairn
