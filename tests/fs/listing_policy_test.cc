// ListingPolicy: listings go without file attributes until files are looked
// up, then with them (bar one probe in kProbeEvery) for kWindow listings.
#include "fs/listing_policy.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace cairn {
namespace {

TEST(ListingPolicyTest, NameOnlyWalksGetNoFileAttributes) {
  ListingPolicy p;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(p.StartListing()) << i;
    EXPECT_FALSE(p.Continuing()) << i;
  }
  EXPECT_EQ(p.with_attributes(), 0u);
  EXPECT_EQ(p.without_attributes(), 1000u);
}

TEST(ListingPolicyTest, FileLookupsTurnAttributesOnWithProbesUntilTheyStop) {
  ListingPolicy p;
  for (int i = 0; i < 10; ++i) p.StartListing();
  p.FileLookedUp();
  EXPECT_TRUE(p.Continuing());
  int with = 0, probes = 0;
  uint64_t n = 0;
  // Until the window closes: every listing but the probes has attributes.
  for (; n < ListingPolicy::kWindow - 1; ++n) (p.StartListing() ? with : probes)++;
  EXPECT_EQ(probes, static_cast<int>((ListingPolicy::kWindow - 1 + 10) / ListingPolicy::kProbeEvery));
  EXPECT_EQ(with + probes, static_cast<int>(ListingPolicy::kWindow - 1));
  // Nobody looked files up for kWindow listings: off again.
  EXPECT_FALSE(p.StartListing());
  EXPECT_FALSE(p.Continuing());
  EXPECT_FALSE(p.StartListing());
  // A walker that stats what it lists keeps them on indefinitely.
  p.FileLookedUp();
  for (int i = 0; i < 5000; ++i) {
    if (!p.StartListing()) p.FileLookedUp();  // the probe's files get looked up
    else if (i % 100 == 0) p.FileLookedUp();
  }
  EXPECT_TRUE(p.Continuing());
  EXPECT_EQ(p.with_attributes() + p.without_attributes(), 10u + ListingPolicy::kWindow + 1 + 5000);
}

TEST(ListingPolicyTest, ConcurrentUseCountsEveryListing) {
  ListingPolicy p;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        p.StartListing();
        if (t == 0 && i % 10 == 0) p.FileLookedUp();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(p.with_attributes() + p.without_attributes(), 40000u);
  EXPECT_GT(p.with_attributes(), 0u);
}

}  // namespace
}  // namespace cairn
