// MemoryUpkeep against its contract: maps dropped above the budget only,
// malloc trimmed at most every trim interval (or when asked), checks made
// by the thread while the mount is busy.
#include "fs/memory_upkeep.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace cairn {
namespace {

struct Fake {
  std::atomic<uint64_t> rss{0};
  std::atomic<int64_t> now{1'000'000'000};
  std::atomic<int> released{0}, trimmed{0};
  MemoryUpkeep::Options Options(bool thread) {
    MemoryUpkeep::Options o;
    o.resident_budget = 100;
    o.trim_interval_ns = 200;
    o.interval_ns = 1'000'000;  // 1 ms
    o.resident_bytes = [this] { return rss.load(); };
    o.trim = [this] { ++trimmed; };
    o.now_ns = [this] { return now.load(); };
    o.start_thread = thread;
    return o;
  }
};

TEST(MemoryUpkeepTest, DropsMapsOnlyAboveTheBudget) {
  Fake f;
  MemoryUpkeep up([&] { ++f.released; }, f.Options(false));
  f.rss = 99;
  up.RunOnce();
  EXPECT_EQ(f.released, 0);
  EXPECT_EQ(f.trimmed, 0);
  f.rss = 100;
  up.RunOnce();
  EXPECT_EQ(f.released, 1);
  EXPECT_EQ(f.trimmed, 1);
  EXPECT_EQ(up.checks(), 2u);
  EXPECT_EQ(up.releases(), 1u);
  EXPECT_EQ(up.trims(), 1u);
}

TEST(MemoryUpkeepTest, TrimsAtMostEveryTrimInterval) {
  Fake f;
  MemoryUpkeep up([&] { ++f.released; }, f.Options(false));
  f.rss = 1000;
  up.RunOnce();
  f.now += 199;
  up.RunOnce();
  EXPECT_EQ(f.released, 2) << "maps are dropped at every check above the budget";
  EXPECT_EQ(f.trimmed, 1) << "malloc_trim walks every arena: not at every check";
  f.now += 1;
  up.RunOnce();
  EXPECT_EQ(f.trimmed, 2);
}

TEST(MemoryUpkeepTest, TrimSoonTrimsBelowTheBudgetWhenDue) {
  Fake f;
  MemoryUpkeep up([&] { ++f.released; }, f.Options(false));
  f.rss = 10;
  up.TrimSoon();
  up.RunOnce();
  EXPECT_EQ(f.trimmed, 1);
  EXPECT_EQ(f.released, 0);
  up.RunOnce();
  EXPECT_EQ(f.trimmed, 1) << "asked once, trimmed once";
  // Asked again before the interval passed: kept for when it is due.
  up.TrimSoon();
  f.now += 100;
  up.RunOnce();
  EXPECT_EQ(f.trimmed, 1);
  f.now += 100;
  up.RunOnce();
  EXPECT_EQ(f.trimmed, 2);
}

TEST(MemoryUpkeepTest, ReleaseMappedPagesRunsOnTheCaller) {
  Fake f;
  MemoryUpkeep up([&] { ++f.released; }, f.Options(false));
  up.ReleaseMappedPages();
  EXPECT_EQ(f.released, 1);
  EXPECT_EQ(up.checks(), 0u);
}

// The thread checks once the mount is busy, and stops with the object.
TEST(MemoryUpkeepTest, ThreadChecksAfterBusy) {
  Fake f;
  f.rss = 1000;
  {
    MemoryUpkeep up([&] { ++f.released; }, f.Options(true));
    EXPECT_EQ(up.checks(), 0u);
    up.Busy();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (up.checks() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GE(up.checks(), 1u);
    EXPECT_GE(f.released, 1);
  }  // joins the thread
}

}  // namespace
}  // namespace cairn
