// The FUSE-free parts of a session (fs/fuse_session.h): the root mapping
// and the request counters.
#include "fs/fuse_session.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "fs/head_tree.h"
#include "fs/layout_tree.h"

namespace cairn {
namespace {

TEST(SessionRootTest, TheWholeMountIsTheIdentity) {
  constexpr SessionRoot r(LayoutTree::kRootIno);
  for (uint64_t ino : {uint64_t{1}, uint64_t{2}, uint64_t{6}, InoOfKind(TreeKind::kSnapshot, 77),
                       HeadTree::kRootIno}) {
    EXPECT_EQ(r.ToTree(ino), ino);
    EXPECT_EQ(r.ToFuse(ino), ino);
  }
}

TEST(SessionRootTest, HeadSessionMapsFuseRootToHeadRootAndBack) {
  constexpr SessionRoot r(HeadTree::kRootIno);
  static_assert(r.ToTree(kFuseRootId) == HeadTree::kRootIno);
  static_assert(r.ToFuse(HeadTree::kRootIno) == kFuseRootId);
  EXPECT_EQ(r.root(), HeadTree::kRootIno);
  // Every other number passes unchanged, both ways.
  for (uint64_t ino : {InoOfKind(TreeKind::kHead, 2), InoOfKind(TreeKind::kHead, 1 << 20),
                       InoOfKind(TreeKind::kSnapshot, 1), uint64_t{2}}) {
    EXPECT_EQ(r.ToTree(ino), ino);
    EXPECT_EQ(r.ToFuse(ino), ino);
    EXPECT_EQ(r.ToTree(r.ToFuse(ino)), ino);
  }
  EXPECT_EQ(r.ToTree(r.ToFuse(HeadTree::kRootIno)), HeadTree::kRootIno);
}

TEST(RequestCountersTest, NamesAreLibfusesAndUnique) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < static_cast<size_t>(FuseOp::kCount); ++i) {
    std::string_view n = FuseOpName(static_cast<FuseOp>(i));
    EXPECT_FALSE(n.empty()) << i;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
  EXPECT_EQ(FuseOpName(FuseOp::kLookup), "lookup");
  EXPECT_EQ(FuseOpName(FuseOp::kBatchForget), "batch_forget");
  EXPECT_EQ(FuseOpName(FuseOp::kReaddirplus), "readdirplus");
  EXPECT_EQ(FuseOpName(FuseOp::kLseek), "lseek");
}

TEST(RequestCountersTest, CountsOnlyWhatWasRequested) {
  RequestCounters c;
  EXPECT_TRUE(c.ByName().empty());
  c.Count(FuseOp::kWrite);
  c.Count(FuseOp::kWrite);
  c.Count(FuseOp::kLookup);
  EXPECT_EQ(c.Get(FuseOp::kWrite), 2u);
  EXPECT_EQ(c.Get(FuseOp::kRead), 0u);
  EXPECT_EQ(c.ByName(), (std::map<std::string, uint64_t>{{"lookup", 1}, {"write", 2}}));
}

TEST(RequestCountersTest, ConcurrentCountsAreAllKept) {
  RequestCounters c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 10000; ++i) c.Count(t % 2 ? FuseOp::kGetattr : FuseOp::kRead);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Get(FuseOp::kGetattr), 40000u);
  EXPECT_EQ(c.Get(FuseOp::kRead), 40000u);
}

}  // namespace
}  // namespace cairn
