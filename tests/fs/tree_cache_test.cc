// TreeCache: decoded directories and inode bindings, persisted in LMDB.
// (In tests/fs because the mount is its only user.)
#include "cache/tree_cache.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cairn {
namespace {

class TreeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-treecache-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TreeCacheTest, DirectoryIsAllOrNothing) {
  auto c = TreeCache::Open(dir_);
  ASSERT_TRUE(c);
  Status s = (*c)->PutDir(test::FilledId(1), [](const TreeCache::AddEntryFn& add) -> Status {
    CAIRN_RETURN_IF_ERROR(add("a", AsBytes("va")));
    return Status::IOError("tree blob unreadable");
  });
  EXPECT_TRUE(s.Is(ErrorCode::kIOError));
  EXPECT_FALSE((*c)->DirCount(test::FilledId(1)));
  EXPECT_FALSE((*c)->FindName(test::FilledId(1), "a"));
  ASSERT_TRUE((*c)->PutDir(test::FilledId(1), [](const TreeCache::AddEntryFn& add) -> Status {
    for (const char* n : {"a", "b", "c"}) CAIRN_RETURN_IF_ERROR(add(n, AsBytes(std::string("v") + n)));
    return Status::OK();
  }).ok());
  EXPECT_EQ((*c)->DirCount(test::FilledId(1)), 3u);
  auto b = (*c)->FindName(test::FilledId(1), "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ordinal, 1u);
  EXPECT_EQ(ToString(b->value), "vb");
  std::vector<std::string> from1;
  ASSERT_TRUE((*c)->ScanDir(test::FilledId(1), 1, [&](uint64_t, std::string_view n, ByteView) {
    from1.emplace_back(n);
    return true;
  }).ok());
  EXPECT_EQ(from1, (std::vector<std::string>{"b", "c"}));
  // Another directory's entries never leak into this one's scan.
  EXPECT_FALSE((*c)->FindName(test::FilledId(2), "b"));
}

TEST_F(TreeCacheTest, BindingsPersistAndCollisionsProbe) {
  std::vector<uint64_t> first;
  {
    auto c = TreeCache::Open(dir_);
    ASSERT_TRUE(c);
    std::vector<TreeCache::Binding> bs(3);
    bs[0] = {1 << 20, ToBytes("x"), ToBytes("loc-x"), 0};
    bs[1] = {1 << 20, ToBytes("y"), ToBytes("loc-y"), 0};  // same wanted number
    bs[2] = {1 << 20, ToBytes("x"), ToBytes("other"), 0};  // same identity as [0]
    ASSERT_TRUE((*c)->Bind(bs).ok());
    EXPECT_EQ(bs[0].ino, uint64_t{1} << 20);
    EXPECT_EQ(bs[1].ino, (uint64_t{1} << 20) + 1);
    EXPECT_EQ(bs[2].ino, bs[0].ino);
    EXPECT_EQ(ToString(*(*c)->Locator(bs[0].ino)), "loc-x");  // first locator kept
    first = {bs[0].ino, bs[1].ino};
  }
  auto c = TreeCache::Open(dir_);
  ASSERT_TRUE(c);
  std::vector<TreeCache::Binding> again(2);
  again[0] = {1 << 20, ToBytes("y"), ToBytes("loc-y"), 0};
  again[1] = {1 << 20, ToBytes("x"), ToBytes("loc-x"), 0};
  ASSERT_TRUE((*c)->Bind(again).ok());
  EXPECT_EQ(again[0].ino, first[1]);
  EXPECT_EQ(again[1].ino, first[0]);
  EXPECT_FALSE((*c)->Locator(12345678));
}

// Two directories whose bases collide: the second one's entries probe past
// the first one's whole run of consecutive numbers (more than the old limit
// of 65,536 steps) to the first free ones, and find them again later.
TEST_F(TreeCacheTest, ProbingWalksPastALongRunOfTakenNumbers) {
  constexpr uint64_t kBase = uint64_t{1} << 40;
  constexpr uint64_t kRun = 70000;
  auto c = TreeCache::Open(dir_);
  ASSERT_TRUE(c);
  std::vector<TreeCache::Binding> dir_a(kRun);
  for (uint64_t i = 0; i < kRun; ++i) {
    dir_a[i] = {kBase + i, ToBytes("a" + std::to_string(i)), ToBytes("loc-a"), 0};
  }
  ASSERT_TRUE((*c)->Bind(dir_a).ok());
  for (uint64_t i = 0; i < kRun; ++i) ASSERT_EQ(dir_a[i].ino, kBase + i);
  std::vector<TreeCache::Binding> dir_b(3);
  for (uint64_t i = 0; i < 3; ++i) {
    dir_b[i] = {kBase + i, ToBytes("b" + std::to_string(i)), ToBytes("loc-b"), 0};
  }
  ASSERT_TRUE((*c)->Bind(dir_b).ok());
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(dir_b[i].ino, kBase + kRun + i);
  std::vector<TreeCache::Binding> again = {{kBase + 1, ToBytes("b1"), ToBytes("x"), 0}};
  ASSERT_TRUE((*c)->Bind(again).ok());
  EXPECT_EQ(again[0].ino, kBase + kRun + 1);
  EXPECT_EQ(ToString(*(*c)->Locator(kBase + kRun + 1)), "loc-b");
}

}  // namespace
}  // namespace cairn
