// CrossFilePrefetcher's rules with a fake claim (no store, no reader): the
// first window, doubling on a hit up to the cap, halving on skipped files,
// stopping on a backwards open, credit earned and spent across Sequences,
// foreign files never judged, and the bounds on files and nodes per top-up.
#include "repo/cross_file_prefetcher.h"

#include <gtest/gtest.h>

#include <vector>

namespace cairn {
namespace {

constexpr uint64_t kFirst = CrossFilePrefetcher::kFirstWindow;

// Positions are encoded in the blob id, so a claim says which file it was.
Node File(uint64_t pos, uint64_t size) {
  Node n;
  n.type = NodeType::kFile;
  n.size = size;
  Extent x;
  x.blob.bytes[0] = static_cast<uint8_t>(pos);
  x.blob.bytes[1] = static_cast<uint8_t>(pos >> 8);
  x.length = size;
  n.content.push_back(x);
  return n;
}

uint64_t PosOf(const Extent& x) { return x.blob.bytes[0] | uint64_t{x.blob.bytes[1]} << 8; }

class CrossFilePrefetcherTest : public ::testing::Test {
 protected:
  // A sequence of n own files of size bytes each, at positions 0..n-1.
  void Files(size_t n, uint64_t size) {
    entries_.clear();
    for (uint64_t p = 0; p < n; ++p) entries_.push_back({p, File(p, size), true});
  }
  CrossFilePrefetcher::UpcomingFn Upcoming() {
    return [this](uint64_t from, const CrossFilePrefetcher::UpcomingNodeFn& fn) {
      for (const Entry& e : entries_) {
        if (e.pos < from) continue;
        ++produced_;
        if (!fn(e.pos, e.node, e.own)) break;
      }
      return Status::OK();
    };
  }
  // Claims like ContentReader: whole extents until max_bytes is reached.
  CrossFilePrefetcher::ClaimFn Claim() {
    return [this](std::span<const Extent> xs, uint64_t max_bytes) {
      uint64_t bytes = 0;
      for (const Extent& x : xs) {
        if (bytes >= max_bytes) break;
        bytes += x.length;
        claimed_.push_back(PosOf(x));
      }
      max_bytes_.push_back(max_bytes);
      return bytes;
    };
  }
  // Opens pos in seq; returns the positions claimed by that open.
  std::vector<uint64_t> Open(CrossFilePrefetcher& p, PrefetchSequence& seq, uint64_t pos) {
    claimed_.clear();
    p.Opened(seq, pos, Upcoming(), Claim());
    return claimed_;
  }
  static std::vector<uint64_t> Range(uint64_t from, uint64_t to) {  // [from, to)
    std::vector<uint64_t> v;
    for (uint64_t p = from; p < to; ++p) v.push_back(p);
    return v;
  }

  struct Entry {
    uint64_t pos;
    Node node;
    bool own;
  };
  std::vector<Entry> entries_;
  std::vector<uint64_t> claimed_;
  std::vector<uint64_t> max_bytes_;
  size_t produced_ = 0;
};

TEST_F(CrossFilePrefetcherTest, FirstOpenClaimsTheFirstWindowOfTheFilesAfterIt) {
  Files(100, 32 << 10);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  EXPECT_EQ(Open(p, *seq, 0), Range(1, 5)) << "4 x 32 KiB = the first window";
  EXPECT_EQ(seq->window(), kFirst);
  EXPECT_EQ(p.files_claimed(), 4u);
}

TEST_F(CrossFilePrefetcherTest, EachOpenOfAFileFetchedAheadDoublesTheWindowUpToTheCap) {
  Files(200, 32 << 10);
  CrossFilePrefetcher p(512 << 10);
  auto seq = p.NewSequence();
  Open(p, *seq, 0);
  // Hit: 256 KiB, 8 files ahead of 1 (2..9): 4 were ahead, 5 more claimed.
  EXPECT_EQ(Open(p, *seq, 1), Range(5, 10));
  EXPECT_EQ(seq->window(), 256u << 10);
  Open(p, *seq, 2);
  EXPECT_EQ(seq->window(), 512u << 10);
  Open(p, *seq, 3);
  EXPECT_EQ(seq->window(), 512u << 10) << "capped";
  EXPECT_EQ(p.files_wasted(), 0u);
}

TEST_F(CrossFilePrefetcherTest, TopsUpOnlyWhenLessThanHalfTheWindowIsAhead) {
  Files(100, 16 << 10);
  CrossFilePrefetcher p(kFirst);  // the window stays at 128 KiB
  auto seq = p.NewSequence();
  EXPECT_EQ(Open(p, *seq, 0), Range(1, 9));  // 8 x 16 KiB
  EXPECT_TRUE(Open(p, *seq, 1).empty()) << "7 files = 112 KiB ahead";
  EXPECT_TRUE(Open(p, *seq, 2).empty()) << "96 KiB";
  EXPECT_TRUE(Open(p, *seq, 3).empty()) << "80 KiB";
  EXPECT_TRUE(Open(p, *seq, 4).empty()) << "64 KiB: half, not less";
  EXPECT_EQ(Open(p, *seq, 5), Range(9, 14)) << "48 KiB ahead: topped up to 128";
}

TEST_F(CrossFilePrefetcherTest, ABackwardsOpenStopsTheWindowAndWastesWhatWasAhead) {
  Files(100, 32 << 10);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  Open(p, *seq, 10);  // 11..14 ahead
  const int credit = p.credit();
  EXPECT_TRUE(Open(p, *seq, 3).empty());
  EXPECT_EQ(seq->window(), 0u);
  EXPECT_EQ(p.files_wasted(), 4u);
  EXPECT_EQ(p.credit(), credit - 4);
  seq.reset();
  EXPECT_EQ(p.files_wasted(), 4u) << "nothing was ahead any more";
}

TEST_F(CrossFilePrefetcherTest, SkippingFilesFetchedAheadHalvesTheWindow) {
  Files(200, 32 << 10);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  Open(p, *seq, 0);
  Open(p, *seq, 1);  // 256 KiB: 2..9 ahead
  Open(p, *seq, 4);  // fetched ahead, passing 2 and 3
  EXPECT_EQ(seq->window(), 512u << 10) << "a hit doubles even past skipped files";
  EXPECT_EQ(p.files_wasted(), 2u);
  Open(p, *seq, 100);  // passes all 16 ahead (5..20) to one not fetched ahead
  EXPECT_EQ(seq->window(), 256u << 10);
  EXPECT_EQ(p.files_wasted(), 18u);
  Open(p, *seq, 120);  // passes 101..108
  EXPECT_EQ(seq->window(), kFirst);
  EXPECT_EQ(p.files_wasted(), 26u);
  Open(p, *seq, 130);  // passes 121..124: 64 KiB would be under the first window
  EXPECT_EQ(seq->window(), 0u);
  EXPECT_EQ(p.files_wasted(), 30u);
}

TEST_F(CrossFilePrefetcherTest, WastedFilesCostTheNextSequencesTheirFirstWindow) {
  Files(100, 32 << 10);
  CrossFilePrefetcher p(1 << 20);
  ASSERT_EQ(p.credit(), CrossFilePrefetcher::kInitialCredit);
  {
    auto seq = p.NewSequence();
    Open(p, *seq, 0);  // claims 1..4, never opened
  }
  EXPECT_EQ(p.files_wasted(), 4u);
  EXPECT_EQ(p.credit(), CrossFilePrefetcher::kInitialCredit - 4);
  auto seq = p.NewSequence();
  EXPECT_TRUE(Open(p, *seq, 0).empty()) << "no credit: no first window";
  EXPECT_EQ(seq->window(), 0u);
  // Opening in order earns credit back even while the window is off; the
  // window starts again once there is some.
  EXPECT_TRUE(Open(p, *seq, 1).empty());  // credit -2 -> -1
  EXPECT_TRUE(Open(p, *seq, 2).empty());  // -1 -> 0
  EXPECT_TRUE(Open(p, *seq, 3).empty());  // 0 (not > 0) -> 1
  EXPECT_EQ(Open(p, *seq, 4), Range(5, 9));
  EXPECT_EQ(seq->window(), kFirst);
}

TEST_F(CrossFilePrefetcherTest, CreditIsBounded) {
  Files(300, 1);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  for (uint64_t pos = 0; pos < 20; ++pos) Open(p, *seq, pos);
  EXPECT_EQ(p.credit(), CrossFilePrefetcher::kMaxCredit);
  Open(p, *seq, 0);  // backwards: hundreds of files wasted at once
  EXPECT_EQ(p.credit(), CrossFilePrefetcher::kMaxCredit + CrossFilePrefetcher::kMinCredit);
  seq = p.NewSequence();
  Open(p, *seq, 0);
  EXPECT_EQ(seq->window(), 0u) << "credit 0 is not enough for a first window";
}

TEST_F(CrossFilePrefetcherTest, ForeignFilesAreClaimedButNeverJudged) {
  // Own files at 0..9; after own file 1, three foreign files (a
  // subdirectory's first files, opened in another Sequence).
  for (uint64_t p = 0; p < 10; ++p) {
    entries_.push_back({p, File(p, 16 << 10), true});
    if (p == 1) {
      for (uint64_t f = 0; f < 3; ++f) entries_.push_back({p, File(100 + f, 16 << 10), false});
    }
  }
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  EXPECT_EQ(Open(p, *seq, 0), (std::vector<uint64_t>{1, 100, 101, 102, 2, 3, 4, 5}));
  EXPECT_EQ(p.files_claimed(), 5u) << "foreign files are counted by their own Sequence";
  Open(p, *seq, 3);  // passes own 1, 2 and the foreign ones
  EXPECT_EQ(p.files_wasted(), 2u) << "only own files skipped are wasted";
  seq.reset();  // own 4, 5 (and what the top-up claimed) never opened
  EXPECT_EQ(p.files_wasted(), 2u + p.files_claimed() - 3u);
}

TEST_F(CrossFilePrefetcherTest, TheSameFileAgainDoesNothing) {
  Files(100, 32 << 10);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  Open(p, *seq, 0);
  const int credit = p.credit();
  EXPECT_TRUE(Open(p, *seq, 0).empty());
  EXPECT_EQ(p.credit(), credit);
  EXPECT_EQ(seq->window(), kFirst);
}

TEST_F(CrossFilePrefetcherTest, AFileLargerThanTheWindowIsClaimedUpToTheWindow) {
  Files(10, 10 << 20);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  EXPECT_EQ(Open(p, *seq, 0), Range(1, 2));
  EXPECT_EQ(max_bytes_, (std::vector<uint64_t>{kFirst}));
}

TEST_F(CrossFilePrefetcherTest, AZeroCapTurnsItOff) {
  Files(10, 1);
  CrossFilePrefetcher p(0);
  auto seq = p.NewSequence();
  EXPECT_TRUE(Open(p, *seq, 0).empty());
  EXPECT_TRUE(Open(p, *seq, 1).empty());
  EXPECT_EQ(seq->window(), 0u);
  EXPECT_EQ(produced_, 0u) << "upcoming is never asked";
}

TEST_F(CrossFilePrefetcherTest, ATopUpClaimsAtMostMaxFilesAheadAndScansAtMostMaxScanNodes) {
  Files(1000, 1);
  CrossFilePrefetcher p(1 << 20);
  auto seq = p.NewSequence();
  EXPECT_EQ(Open(p, *seq, 0).size(), CrossFilePrefetcher::kMaxFilesAhead);

  entries_.clear();
  for (uint64_t pos = 0; pos < 5000; ++pos) {
    Node dir;
    dir.type = NodeType::kDir;
    entries_.push_back({pos, dir, true});
  }
  CrossFilePrefetcher fresh(1 << 20);  // p's credit went on the 256 files never opened
  auto seq2 = fresh.NewSequence();
  produced_ = 0;
  EXPECT_TRUE(Open(fresh, *seq2, 0).empty());
  EXPECT_EQ(produced_, CrossFilePrefetcher::kMaxScan);
}

}  // namespace
}  // namespace cairn
