// pack_reads: the one coalescing rule for ranged reads of packs (given
// blobs and limits, exactly these ranges), the aligned window of tree
// reads, and the one mapping of a failed pack read to a user's error.
#include "repo/pack_reads.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

#include <vector>

namespace cairn {
namespace {

const Id kPackA = test::FilledId(0xaa);
const Id kPackB = test::FilledId(0xbb);

BlobLocation At(const Id& pack, uint32_t offset, uint32_t length) {
  BlobLocation l;
  l.pack = pack;
  l.offset = offset;
  l.length = length;
  return l;
}

CoalescePolicy Policy(uint64_t max_gap, uint64_t max_read, bool join_repeats = false) {
  CoalescePolicy p;
  p.max_gap = max_gap;
  p.max_read = max_read;
  p.join_repeats = join_repeats;
  return p;
}

TEST(PackReadsTest, DefaultsAreTheMeasuredOnes) {
  CoalescePolicy p;
  EXPECT_EQ(p.max_read, 8u << 20);
  EXPECT_EQ(p.max_gap, 256u << 10);
  EXPECT_FALSE(p.join_repeats);
}

TEST(PackReadsTest, AdjacentBlobsOfOnePackAreOneRead) {
  std::vector<BlobLocation> l = {At(kPackA, 0, 100), At(kPackA, 100, 50), At(kPackA, 150, 10)};
  EXPECT_EQ(PlanPackReads(l, Policy(0, 1000)),
            (std::vector<PlannedRead>{{{kPackA, 0, 160}, 0, 3}}));
}

TEST(PackReadsTest, AGapUpToMaxGapIsReadThroughOneByteMoreSplits) {
  // 100..110 is a gap of 10: read through; 160..171 is a gap of 11: split.
  std::vector<BlobLocation> l = {At(kPackA, 0, 100), At(kPackA, 110, 50), At(kPackA, 171, 5)};
  EXPECT_EQ(PlanPackReads(l, Policy(10, 1000)),
            (std::vector<PlannedRead>{{{kPackA, 0, 160}, 0, 2}, {{kPackA, 171, 5}, 2, 3}}));
}

TEST(PackReadsTest, OneReadSpansAtMostMaxReadUnlessItsFirstBlobIsLarger) {
  std::vector<BlobLocation> l = {At(kPackA, 0, 60), At(kPackA, 60, 40), At(kPackA, 100, 1),
                                 At(kPackA, 101, 300)};
  EXPECT_EQ(PlanPackReads(l, Policy(0, 100)),
            (std::vector<PlannedRead>{
                {{kPackA, 0, 100}, 0, 2},   // exactly max_read
                {{kPackA, 100, 1}, 2, 3},   // 101..401 would be 301 bytes
                {{kPackA, 101, 300}, 3, 4}  // alone, larger than max_read
            }));
}

TEST(PackReadsTest, AnotherPackStartsAnotherRead) {
  std::vector<BlobLocation> l = {At(kPackA, 0, 10), At(kPackB, 10, 10)};
  EXPECT_EQ(PlanPackReads(l, Policy(1000, 1000)),
            (std::vector<PlannedRead>{{{kPackA, 0, 10}, 0, 1}, {{kPackB, 10, 10}, 1, 2}}));
}

TEST(PackReadsTest, ARepeatedBlobEndsTheReadUnlessRepeatsJoin) {
  std::vector<BlobLocation> l = {At(kPackA, 0, 10), At(kPackA, 0, 10), At(kPackA, 10, 10)};
  EXPECT_EQ(PlanPackReads(l, Policy(0, 1000)),
            (std::vector<PlannedRead>{{{kPackA, 0, 10}, 0, 1}, {{kPackA, 0, 20}, 1, 3}}));
  EXPECT_EQ(PlanPackReads(l, Policy(0, 1000, /*join_repeats=*/true)),
            (std::vector<PlannedRead>{{{kPackA, 0, 20}, 0, 3}}));
}

TEST(PackReadsTest, ABlobStickingOutOfTheRangeNeverJoinsAsARepeat) {
  std::vector<BlobLocation> l = {At(kPackA, 0, 10), At(kPackA, 5, 10)};
  EXPECT_EQ(PlanPackReads(l, Policy(1000, 1000, /*join_repeats=*/true)),
            (std::vector<PlannedRead>{{{kPackA, 0, 10}, 0, 1}, {{kPackA, 5, 10}, 1, 2}}));
}

TEST(PackReadsTest, AFailedTryAddLeavesTheRangeAsItWas) {
  PackRangeBuilder b(At(kPackA, 100, 10), Policy(5, 50));
  EXPECT_FALSE(b.TryAdd(At(kPackB, 110, 10)));
  EXPECT_FALSE(b.TryAdd(At(kPackA, 116, 10)));  // gap 6
  EXPECT_FALSE(b.TryAdd(At(kPackA, 141, 10)));  // gap 31
  EXPECT_FALSE(b.TryAdd(At(kPackA, 50, 10)));   // before the range
  EXPECT_EQ(b.range(), (PackRange{kPackA, 100, 10}));
  EXPECT_TRUE(b.TryAdd(At(kPackA, 115, 35)));  // gap 5, 50 bytes in all
  EXPECT_EQ(b.range(), (PackRange{kPackA, 100, 50}));
}

TEST(PackReadsTest, NothingToPlanIsNoRead) {
  EXPECT_TRUE(PlanPackReads({}, CoalescePolicy{}).empty());
}

TEST(PackReadsTest, WindowIsAlignedAndCoversTheBlob) {
  // Inside one window.
  EXPECT_EQ(PackWindow(At(kPackA, 1500, 100), 1024, std::nullopt), (PackRange{kPackA, 1024, 1024}));
  // Running past the window's end: up to the blob's end.
  EXPECT_EQ(PackWindow(At(kPackA, 2000, 100), 1024, std::nullopt), (PackRange{kPackA, 1024, 1076}));
}

TEST(PackReadsTest, WindowStopsAtAKnownPackEndThatHoldsTheBlob) {
  EXPECT_EQ(PackWindow(At(kPackA, 1500, 100), 1024, 1700), (PackRange{kPackA, 1024, 676}));
  // A recorded size too small for the blob is not trusted: the whole
  // window is asked for, so the store says what is there.
  EXPECT_EQ(PackWindow(At(kPackA, 1500, 100), 1024, 1550), (PackRange{kPackA, 1024, 1024}));
}

TEST(PackReadsTest, AMissingPackNamesThePackAndTheBlob) {
  const Id blob = test::FilledId(0x01);
  Status s = PackReadError(Status::NotFound("no such key"), kPackA, BlobType::kTree, &blob);
  EXPECT_TRUE(s.Is(ErrorCode::kNotFound));
  EXPECT_EQ(s.message(), "pack " + kPackA.Short() + " holding tree blob " + blob.Short() +
                             " is missing from the store; run `cairn check`");
  s = PackReadError(Status::NotFound("no such key"), kPackA, BlobType::kData, nullptr);
  EXPECT_EQ(s.message(),
            "pack " + kPackA.Short() + " is missing from the store; run `cairn check`");
}

TEST(PackReadsTest, AReadPastTheEndIsATruncatedPack) {
  const Id blob = test::FilledId(0x02);
  const std::string want = "pack " + kPackA.Short() + " is truncated (data blob " + blob.Short() +
                           " lies past its end); run `cairn check`";
  for (const Status& e : {Status::OutOfRange("past the end")}) {
    EXPECT_TRUE(IsPackDamage(e));
    Status s = PackReadError(e, kPackA, BlobType::kData, &blob);
    EXPECT_TRUE(s.Is(ErrorCode::kCorruption)) << e.message();
    EXPECT_EQ(s.message(), want);
    EXPECT_EQ(PackReadError(e, kPackA, BlobType::kData, nullptr).message(),
              "pack " + kPackA.Short() + " is truncated; run `cairn check`");
  }
  EXPECT_EQ(TruncatedPack(kPackA, BlobType::kData, &blob).message(), want);
}

TEST(PackReadsTest, OtherErrorsPassUnchanged) {
  const Id blob = test::FilledId(0x03);
  for (const Status& e : {Status::Transient("503"), Status::PermissionDenied("403"),
                          Status::InvalidArgument("a caller's bad range")}) {
    EXPECT_FALSE(IsPackDamage(e));
    Status s = PackReadError(e, kPackA, BlobType::kData, &blob);
    EXPECT_EQ(s.code(), e.code());
    EXPECT_EQ(s.message(), e.message());
  }
}

}  // namespace
}  // namespace cairn
