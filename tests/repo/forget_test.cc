// forget's grouping, filters, id selection, retention and removal through
// the store (repo/forget.h), on MemoryStore.
#include "repo/forget.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"

namespace cairn {
namespace {

constexpr int64_t kDay = 86400 * kNsPerSecond;
constexpr int64_t kT0 = 1600000000LL * kNsPerSecond;  // 2020-09-13
constexpr int64_t kPlanNow = kT0 + 1000 * kDay;

Snapshot Make(const std::string& host, const std::string& series, int day,
              std::vector<std::string> tags = {}) {
  Snapshot s;
  s.hostname = host;
  s.series = series;
  s.time_ns = kT0 + day * kDay;
  s.tags = std::move(tags);
  s.paths = {"/data"};
  return s;
}

// Gives each snapshot a distinct id (by its position), as a store would.
std::vector<Snapshot> WithIds(std::vector<Snapshot> v) {
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].id.bytes[0] = static_cast<uint8_t>(0x10 + i);
    v[i].id.bytes[31] = static_cast<uint8_t>(i);
  }
  return v;
}

std::vector<int> KeptDays(const ForgetGroup& g) {
  std::vector<int> out;
  for (const auto& d : g.decisions) {
    if (d.keep) out.push_back(static_cast<int>((d.snapshot.time_ns - kT0) / kDay));
  }
  return out;
}

class ForgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC0", 1);
    tzset();
  }
};

TEST_F(ForgetTest, GroupsByHostAndSeries) {
  auto all = WithIds({Make("a", "a:/data", 1), Make("a", "a:/data", 2), Make("a", "a:/etc", 1),
                      Make("b", "a:/data", 3), Make("a", "a:/data", 3)});
  ForgetPolicy p;
  p.last = 1;
  auto groups = PlanForget(all, {}, p, kPlanNow);
  ASSERT_TRUE(groups) << groups.error().message();
  ASSERT_EQ(groups->size(), 3u);
  EXPECT_EQ((*groups)[0].host, "a");
  EXPECT_EQ((*groups)[0].series, "a:/data");
  EXPECT_EQ(KeptDays((*groups)[0]), (std::vector<int>{3}));
  EXPECT_EQ((*groups)[0].removed(), 2u);
  EXPECT_EQ((*groups)[1].series, "a:/etc");
  EXPECT_EQ((*groups)[1].kept(), 1u);
  EXPECT_EQ((*groups)[2].host, "b");
  EXPECT_EQ((*groups)[2].kept(), 1u);
}

TEST_F(ForgetTest, FilterLimitsWhatThePolicySees) {
  auto all = WithIds({Make("a", "s", 1, {"x"}), Make("a", "s", 2), Make("a", "s", 3, {"x", "y"}),
                      Make("b", "s", 1)});
  ForgetPolicy p;
  p.last = 1;
  SnapshotFilter f;
  f.host = "a";
  f.tags = {"x"};
  auto groups = PlanForget(all, f, p, kPlanNow);
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 1u);
  ASSERT_EQ((*groups)[0].decisions.size(), 2u);  // days 1 and 3, tagged x
  EXPECT_EQ(KeptDays((*groups)[0]), (std::vector<int>{3}));
  f = {};
  f.series = "nothing";
  groups = PlanForget(all, f, p, kPlanNow);
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups->empty());
}

TEST_F(ForgetTest, RetainedSnapshotsAreKept) {
  auto all = WithIds({Make("a", "s", 1), Make("a", "s", 2), Make("a", "s", 3)});
  all[0].retain_until_ns = kPlanNow + kDay;
  all[1].retain_until_ns = kPlanNow - kDay;  // expired: no longer protects
  ForgetPolicy p;
  p.last = 1;
  auto groups = PlanForget(all, {}, p, kPlanNow);
  ASSERT_TRUE(groups);
  EXPECT_EQ(KeptDays((*groups)[0]), (std::vector<int>{3, 1}));
  EXPECT_EQ((*groups)[0].decisions[2].reasons,
            (std::vector<std::string>{"retained until " + FormatTime(kPlanNow + kDay)}));
}

TEST_F(ForgetTest, RefusesToRemoveAWholeGroup) {
  auto all = WithIds({Make("a", "s", 1), Make("a", "s", 2), Make("b", "t", 1, {"keep"})});
  ForgetPolicy p;
  p.tags = {{"keep"}};
  auto groups = PlanForget(all, {}, p, kPlanNow);
  ASSERT_FALSE(groups);
  EXPECT_EQ(groups.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(groups.error().message(),
            "refusing to remove all 2 snapshots of host a, series s: the policy keeps none of "
            "them; name them by id to remove them all");
}

TEST_F(ForgetTest, Ids) {
  auto all = WithIds({Make("a", "s", 1), Make("a", "s", 2), Make("b", "t", 3)});
  auto groups = PlanForgetIds(all, {all[0].id.Hex().substr(0, 6), all[2].id.Hex(),
                                    all[0].id.Hex().substr(0, 8)},
                              kPlanNow);
  ASSERT_TRUE(groups) << groups.error().message();
  ASSERT_EQ(groups->size(), 2u);
  ASSERT_EQ((*groups)[0].decisions.size(), 1u);  // named twice, removed once
  EXPECT_EQ((*groups)[0].decisions[0].snapshot.id, all[0].id);
  EXPECT_FALSE((*groups)[0].decisions[0].keep);
  EXPECT_EQ((*groups)[1].decisions[0].snapshot.id, all[2].id);

  auto missing = PlanForgetIds(all, {"deadbeef"}, kPlanNow);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(),
            "no snapshot with id deadbeef (list them with `cairn snapshots`)");
  auto shortid = PlanForgetIds(all, {"10"}, kPlanNow);
  ASSERT_FALSE(shortid);
  EXPECT_EQ(shortid.error().code(), ErrorCode::kInvalidArgument);
  // Every id starts with byte 0x1?: "1" alone is ambiguous, given 4 digits.
  all[1].id.bytes[0] = all[0].id.bytes[0];
  auto ambiguous = PlanForgetIds(all, {all[0].id.Hex().substr(0, 4)}, kPlanNow);
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message().find("is ambiguous"), std::string::npos);

  all[2].retain_until_ns = kPlanNow + kDay;
  auto locked = PlanForgetIds(all, {all[2].id.Hex()}, kPlanNow);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code(), ErrorCode::kLocked);
  EXPECT_EQ(locked.error().message(),
            "snapshot " + all[2].id.Short() + " is retained until " + FormatTime(kPlanNow + kDay) +
                " and cannot be forgotten before then");
}

// RemoveSnapshots deletes the snapshot objects through the store and the
// next listing no longer has them; data and index are untouched.
class ForgetRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-forget-XXXXXX";
    root_ = mkdtemp(tmpl);
    InitOptions init;
    init.kdf.n = 1 << 10;
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    auto r = Repository::Init(std::make_unique<BorrowedStore>(store_), "pw", init, open);
    ASSERT_TRUE(r) << r.error().message();
    repo_ = std::move(*r);
    auto codec = repo_->NewCodec();
    for (int day = 1; day <= 4; ++day) {
      ASSERT_TRUE(repo_->SaveSnapshot(Make("h", "h:/data", day), *codec));
    }
  }
  void TearDown() override {
    repo_.reset();
    std::filesystem::remove_all(root_);
  }
  size_t Objects(const std::string& prefix) {
    size_t n = 0;
    EXPECT_TRUE(store_.List(prefix, [&](const ObjectInfo&) { return ++n, Status::OK(); }).ok());
    return n;
  }

  std::string root_;
  MemoryStore store_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(ForgetRepoTest, RemovesSnapshotObjects) {
  auto all = repo_->ListSnapshots();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  ForgetPolicy p;
  p.last = 2;
  auto groups = PlanForget(*all, {}, p, kPlanNow);
  ASSERT_TRUE(groups);
  const size_t other = Objects("") - Objects("snapshots/");
  std::vector<Id> removed;
  ASSERT_TRUE(RemoveSnapshots(*repo_, *groups, nullptr,
                              [&](const Snapshot& s) { removed.push_back(s.id); })
                  .ok());
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(Objects("snapshots/"), 2u);
  EXPECT_EQ(Objects("") - Objects("snapshots/"), other);
  auto left = repo_->ListSnapshots();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 2u);
  for (const auto& s : *left) {
    EXPECT_TRUE(std::find(removed.begin(), removed.end(), s.id) == removed.end());
    EXPECT_GE(s.time_ns, kT0 + 3 * kDay);
  }
}

TEST_F(ForgetRepoTest, StopsWhenCancelled) {
  auto all = repo_->ListSnapshots();
  ASSERT_TRUE(all);
  auto groups = PlanForgetIds(*all, {(*all)[0].id.Hex()}, kPlanNow);
  ASSERT_TRUE(groups);
  std::atomic<bool> cancel{true};
  Status s = RemoveSnapshots(*repo_, *groups, &cancel, [](const Snapshot&) {});
  EXPECT_EQ(s.code(), ErrorCode::kCancelled);
  EXPECT_EQ(Objects("snapshots/"), 4u);
}

}  // namespace
}  // namespace cairn
