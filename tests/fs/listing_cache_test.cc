// ListingCache against its contract: listings handed out once, bounded by
// entries, oldest dropped first; FirstListing true once per directory
// among the last ones kept.
#include "fs/listing_cache.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

ListingCache::Listing Of(size_t entries, uint64_t first_ino = 1000) {
  ListingCache::Listing l;
  for (size_t i = 0; i < entries; ++i) {
    FsDirEntry e;
    e.name = "e" + std::to_string(i);
    e.attr.ino = first_ino + i;
    l.entries.push_back(e);
  }
  TreePrefetcher::Job j;
  j.ino = first_ino;
  l.subdirs.push_back(j);
  return l;
}

TEST(ListingCacheTest, AListingIsTakenOnce) {
  ListingCache c;
  EXPECT_FALSE(c.Take(7));
  c.Put(7, Of(3));
  EXPECT_EQ(c.entries(), 3u);
  auto l = c.Take(7);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->entries.size(), 3u);
  EXPECT_EQ(l->entries[2].name, "e2");
  ASSERT_EQ(l->subdirs.size(), 1u);
  EXPECT_EQ(l->subdirs[0].ino, 1000u);
  EXPECT_FALSE(c.Take(7));
  EXPECT_EQ(c.served(), 1u);
  EXPECT_EQ(c.entries(), 0u);
}

TEST(ListingCacheTest, TheFirstListingPutIsKept) {
  ListingCache c;
  c.Put(7, Of(1, 1));
  c.Put(7, Of(2, 2));
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_EQ(c.Take(7)->entries[0].attr.ino, 1u);
}

TEST(ListingCacheTest, OldestListingsGoBeyondTheEntryBound) {
  ListingCache c(/*max_entries=*/10);
  c.Put(1, Of(4));
  c.Put(2, Of(4));
  c.Put(3, Of(4));  // 12 > 10: listing 1 goes
  EXPECT_EQ(c.entries(), 8u);
  EXPECT_FALSE(c.Take(1));
  EXPECT_TRUE(c.Take(3));
  c.Put(4, Of(4));
  c.Put(5, Of(4));  // 2, 4, 5: 12 > 10: 2 goes (3 was taken)
  EXPECT_FALSE(c.Take(2));
  EXPECT_TRUE(c.Take(4));
  EXPECT_TRUE(c.Take(5));
  EXPECT_EQ(c.entries(), 0u);
  // A listing larger than the bound is not kept at all.
  c.Put(6, Of(11));
  EXPECT_FALSE(c.Take(6));
}

TEST(ListingCacheTest, ManyTakenListingsKeepTheOrderBounded) {
  ListingCache c(/*max_entries=*/100);
  for (uint64_t i = 0; i < 100000; ++i) {
    c.Put(i, Of(1));
    ASSERT_TRUE(c.Take(i));
  }
  c.Put(1'000'000, Of(1));
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_TRUE(c.Take(1'000'000));
}

TEST(ListingCacheTest, FirstListingOncePerDirectoryAmongTheLastKept) {
  ListingCache c(/*max_entries=*/100, /*listed_kept=*/3);
  EXPECT_TRUE(c.FirstListing(1));
  EXPECT_FALSE(c.FirstListing(1));
  EXPECT_TRUE(c.FirstListing(2));
  EXPECT_TRUE(c.FirstListing(3));
  EXPECT_FALSE(c.FirstListing(1));
  EXPECT_TRUE(c.FirstListing(4));  // 1 is forgotten (the oldest of 4)
  EXPECT_TRUE(c.FirstListing(1));
  EXPECT_FALSE(c.FirstListing(4));
}

}  // namespace
}  // namespace cairn
