// RamBlobCache: least recently used evicted first, never more than its
// capacity in bytes, blobs shared with readers, and the "prefetched, not
// read yet" mark seen once.
#include "repo/ram_blob_cache.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

RamBlobCache::Plain Blob(size_t n, uint8_t fill = 0) {
  return std::make_shared<const Bytes>(n, fill);
}

TEST(RamBlobCacheTest, EvictsLeastRecentlyUsedFirst) {
  RamBlobCache c(300);
  c.Insert(test::FilledId(1), Blob(100), false);
  c.Insert(test::FilledId(2), Blob(100), false);
  c.Insert(test::FilledId(3), Blob(100), false);
  ASSERT_TRUE(c.Find(test::FilledId(1)));  // 1 is now the most recently used
  c.Insert(test::FilledId(4), Blob(100), false);
  EXPECT_FALSE(c.Contains(test::FilledId(2))) << "the least recently used goes first";
  EXPECT_TRUE(c.Contains(test::FilledId(1)));
  EXPECT_TRUE(c.Contains(test::FilledId(3)));
  EXPECT_TRUE(c.Contains(test::FilledId(4)));
  EXPECT_EQ(c.bytes(), 300u);
}

TEST(RamBlobCacheTest, ContainsDoesNotRefresh) {
  RamBlobCache c(200);
  c.Insert(test::FilledId(1), Blob(100), false);
  c.Insert(test::FilledId(2), Blob(100), false);
  EXPECT_TRUE(c.Contains(test::FilledId(1)));
  c.Insert(test::FilledId(3), Blob(100), false);
  EXPECT_FALSE(c.Contains(test::FilledId(1)));
  EXPECT_TRUE(c.Contains(test::FilledId(2)));
}

TEST(RamBlobCacheTest, NeverHoldsMoreThanItsCapacity) {
  RamBlobCache c(1000);
  for (uint8_t i = 0; i < 100; ++i) {
    c.Insert(test::FilledId(i), Blob(37 + i * 13 % 300), false);
    ASSERT_LE(c.bytes(), c.capacity()) << int(i);
  }
  // A large blob evicts as many as it needs, and no more.
  c.Insert(test::FilledId(200), Blob(900), false);
  EXPECT_TRUE(c.Contains(test::FilledId(200)));
  EXPECT_LE(c.bytes(), 1000u);
  EXPECT_GE(c.size(), 1u);
}

TEST(RamBlobCacheTest, ABlobLargerThanTheCapacityIsNotKept) {
  RamBlobCache c(100);
  c.Insert(test::FilledId(1), Blob(50), false);
  c.Insert(test::FilledId(2), Blob(101), false);
  EXPECT_FALSE(c.Contains(test::FilledId(2)));
  EXPECT_TRUE(c.Contains(test::FilledId(1))) << "nothing evicted for a blob that cannot fit";
  EXPECT_EQ(c.bytes(), 50u);
}

TEST(RamBlobCacheTest, ABlobHeldAlreadyIsLeftAsItIs) {
  RamBlobCache c(100);
  auto first = Blob(10, 'a');
  c.Insert(test::FilledId(1), first, false);
  c.Insert(test::FilledId(1), Blob(10, 'b'), true);
  EXPECT_EQ(c.Find(test::FilledId(1)), first);
  EXPECT_EQ(c.bytes(), 10u);
  bool first_read = true;
  c.Find(test::FilledId(1), &first_read);
  EXPECT_FALSE(first_read) << "the second insert's prefetched mark was ignored";
}

TEST(RamBlobCacheTest, AnEvictedBlobStaysValidForWhoeverHoldsIt) {
  RamBlobCache c(10);
  c.Insert(test::FilledId(1), Blob(10, 'x'), false);
  RamBlobCache::Plain held = c.Find(test::FilledId(1));
  c.Insert(test::FilledId(2), Blob(10), false);
  EXPECT_FALSE(c.Contains(test::FilledId(1)));
  ASSERT_TRUE(held);
  EXPECT_EQ((*held)[9], 'x');
  EXPECT_EQ(c.bytes(), 10u) << "a held blob is not counted once evicted";
}

TEST(RamBlobCacheTest, PrefetchedMarkIsSeenByTheFirstReadOnly) {
  RamBlobCache c(100);
  c.Insert(test::FilledId(1), Blob(10), /*prefetched=*/true);
  c.Insert(test::FilledId(2), Blob(10), /*prefetched=*/false);
  EXPECT_TRUE(c.Find(test::FilledId(1))) << "a lookup without first_read leaves the mark";
  bool first_read = false;
  EXPECT_TRUE(c.Find(test::FilledId(1), &first_read));
  EXPECT_TRUE(first_read);
  EXPECT_TRUE(c.Find(test::FilledId(1), &first_read));
  EXPECT_FALSE(first_read);
  first_read = true;
  EXPECT_TRUE(c.Find(test::FilledId(2), &first_read));
  EXPECT_FALSE(first_read);
}

TEST(RamBlobCacheTest, MissIsNull) {
  RamBlobCache c(100);
  bool first_read = true;
  EXPECT_EQ(c.Find(test::FilledId(9), &first_read), nullptr);
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace cairn
