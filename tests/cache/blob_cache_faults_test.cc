// BlobCache on a faulty local disk (tests/support/faulty_local_files.h) and
// under process kills (tests/support/crash_harness.h). The one invariant:
// every Get either misses or returns exactly the bytes that were Put; a
// failed fill is logged and costs only a later miss.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <random>

#include "cache/blob_cache.h"
#include "tests/support/crash_harness.h"
#include "tests/support/faulty_local_files.h"

namespace cairn {
namespace {

class WarningLog final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (level == LogLevel::kWarning) ++warnings_;
    last_ = std::string(message);
  }
  bool Enabled(LogLevel) const override { return true; }
  int warnings() const {
    std::lock_guard<std::mutex> lock(mu_);
    return warnings_;
  }
  std::string last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  int warnings_ = 0;
  std::string last_;
};

Id MakeId(uint32_t seed) {
  Id id;
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < Id::kSize; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    id.bytes[i] = static_cast<uint8_t>(x);
  }
  return id;
}

Bytes Data(uint32_t seed, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 7 + i * 13 + (i >> 8));
  return b;
}

// Blob i of the fills below: sizes vary so that some share a slab and some
// take one of their own.
size_t SizeOf(uint32_t i) { return 1000 + (i * 7919) % 40000; }

class BlobCacheFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-blobfaults-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BlobCache> Open(uint64_t limit, LocalFiles* files) {
    auto c = BlobCache::Open(dir_ + "/cache", limit, &log_, files);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }
  // Reopens on the real disk and checks blobs [0, n): each misses or is
  // exact. Returns how many hit; -1 after a wrong answer (reported).
  int CheckAfterReopen(uint32_t n, const std::string& when) {
    auto c = Open(256 << 10, nullptr);
    if (!c) return -1;
    int hits = 0;
    for (uint32_t i = 0; i < n; ++i) {
      auto got = c->Get(MakeId(i));
      if (!got) continue;
      if (*got != Data(i, SizeOf(i))) {
        ADD_FAILURE() << when << ": blob " << i << " came back with wrong bytes";
        return -1;
      }
      ++hits;
    }
    EXPECT_EQ(c->count(), static_cast<size_t>(hits)) << when;
    return hits;
  }
  std::string dir_;
  WarningLog log_;
  FaultyLocalFiles disk_;
};

TEST_F(BlobCacheFaultsTest, FullDiskFailsTheFillCleanly) {
  auto c = Open(1 << 20, &disk_);
  disk_.NoSpaceAfter(25000);
  for (uint32_t i = 0; i < 5; ++i) c->Put(MakeId(i), Data(i, 10000));
  // Two fit; the third is torn (5000 bytes land, then ENOSPC); the rest fail.
  EXPECT_TRUE(c->Contains(MakeId(0)));
  EXPECT_TRUE(c->Contains(MakeId(1)));
  for (uint32_t i = 2; i < 5; ++i) EXPECT_FALSE(c->Contains(MakeId(i))) << i;
  EXPECT_EQ(log_.warnings(), 3);
  EXPECT_NE(log_.last().find(MakeId(4).Short()), std::string::npos) << log_.last();
  EXPECT_NE(log_.last().find("No space left"), std::string::npos) << log_.last();
  for (uint32_t i = 0; i < 5; ++i) {
    auto got = c->Get(MakeId(i));
    if (got) {
      EXPECT_EQ(*got, Data(i, 10000)) << i;
    }
  }
  // Space again: fills work, and the torn range is never read as a blob.
  disk_.ClearFaults();
  c->Put(MakeId(2), Data(2, 10000));
  EXPECT_EQ(c->Get(MakeId(2)), Data(2, 10000));
  c.reset();
  auto again = Open(1 << 20, nullptr);
  for (uint32_t i = 0; i < 5; ++i) {
    auto got = again->Get(MakeId(i));
    if (got) {
      EXPECT_EQ(*got, Data(i, 10000)) << i;
    }
  }
  EXPECT_EQ(again->count(), 3u);
}

TEST_F(BlobCacheFaultsTest, WriteErrorLosesOnlyThatBlob) {
  auto c = Open(1 << 20, &disk_);
  disk_.FailNth(FileOp::kWrite, 1, EIO);
  c->Put(MakeId(1), Data(1, 3000));
  EXPECT_FALSE(c->Contains(MakeId(1)));
  EXPECT_EQ(log_.warnings(), 1);
  EXPECT_NE(log_.last().find(MakeId(1).Short()), std::string::npos) << log_.last();
  EXPECT_NE(log_.last().find("Input/output error"), std::string::npos) << log_.last();
  c->Put(MakeId(2), Data(2, 3000));
  EXPECT_EQ(c->Get(MakeId(2)), Data(2, 3000));
  EXPECT_EQ(disk_.InjectedFailures(), 1u);
}

TEST_F(BlobCacheFaultsTest, ShortTransfersStillStoreExactBytes) {
  disk_.ShortWrites(997);
  disk_.ShortReads(331);
  auto c = Open(4 << 20, &disk_);
  for (uint32_t i = 0; i < 20; ++i) c->Put(MakeId(i), Data(i, SizeOf(i)));
  for (uint32_t i = 0; i < 20; ++i) EXPECT_EQ(c->Get(MakeId(i)), Data(i, SizeOf(i))) << i;
  EXPECT_EQ(log_.warnings(), 0) << log_.last();
  EXPECT_GT(disk_.Calls(FileOp::kWrite), 20u * 10);  // the loops did the joining
}

TEST_F(BlobCacheFaultsTest, ReadOrOpenErrorIsAMissAndDropsTheEntry) {
  auto c = Open(1 << 20, &disk_);
  c->Put(MakeId(1), Data(1, 3000));
  c->Put(MakeId(2), Data(2, 3000));
  disk_.FailNth(FileOp::kRead, 1, EIO);
  EXPECT_FALSE(c->Get(MakeId(1)));
  EXPECT_FALSE(c->Contains(MakeId(1)));
  disk_.FailNth(FileOp::kOpen, 1, EACCES);
  EXPECT_FALSE(c->Get(MakeId(2)));
  EXPECT_FALSE(c->Contains(MakeId(2)));
  EXPECT_EQ(log_.warnings(), 2);
  c->Put(MakeId(1), Data(1, 3000));  // refilled after the miss
  EXPECT_EQ(c->Get(MakeId(1)), Data(1, 3000));
}

// Kills a fill before each of its local-file operations in turn (a write is
// torn first), then reopens: nothing wrong is ever served. A fresh cache
// each time; 256 KiB hold ~12 of the 16 blobs, so evictions (unlinks) are
// among the kill points.
TEST_F(BlobCacheFaultsTest, KilledFillNeverServesWrongBytes) {
  constexpr uint32_t kBlobs = 16;
  uint64_t points = 0, kills = 0;
  int max_hits = 0;
  for (uint64_t n = 1; n <= 400; ++n) {
    std::filesystem::remove_all(dir_ + "/cache");
    ChildEnd end = RunKilledAtOp(n, [&](LocalFiles& files) {
      auto c = BlobCache::Open(dir_ + "/cache", 256 << 10, nullptr, &files);
      if (!c) return 2;
      for (uint32_t i = 0; i < kBlobs; ++i) (*c)->Put(MakeId(i), Data(i, SizeOf(i)));
      return 0;
    });
    ASSERT_TRUE(end.killed || end.finished()) << "kill point " << n << ": " << end.Describe();
    int hits = CheckAfterReopen(kBlobs, "killed at operation " + std::to_string(n));
    ASSERT_GE(hits, 0);
    max_hits = std::max(max_hits, hits);
    ++points;
    kills += end.killed;
    if (!end.killed) break;  // n is past the fill's last operation
  }
  EXPECT_GT(kills, 3 * kBlobs) << "at least open, write and close of each blob";
  EXPECT_LT(kills, points) << "the loop reached the end of the fill";
  EXPECT_GE(max_hits, 10) << "the complete fill cached most blobs";
  EXPECT_EQ(log_.warnings(), 0) << log_.last();
}

// Random moments, one cache: each run reopens what the previous kill left.
TEST_F(BlobCacheFaultsTest, RandomlyKilledFillsNeverServeWrongBytes) {
  constexpr uint32_t kBlobs = 200;
  std::mt19937 rng(20261203);
  int killed = 0, max_hits = 0;
  for (int run = 0; run < 8; ++run) {
    auto delay = std::chrono::microseconds(2000 + rng() % 30000);
    ChildEnd end = RunKilledAfter(delay, [&] {
      auto c = BlobCache::Open(dir_ + "/cache", 256 << 10, nullptr);
      if (!c) return 2;
      for (uint32_t i = 0; i < kBlobs; ++i) {
        (*c)->Put(MakeId(i), Data(i, SizeOf(i)));
        if (i % 5 == 0) (void)(*c)->Get(MakeId(i / 2));  // ticks flushed now and then
      }
      return 0;
    });
    ASSERT_TRUE(end.killed || end.finished()) << "run " << run << ": " << end.Describe();
    killed += end.killed;
    int hits = CheckAfterReopen(kBlobs, "run " + std::to_string(run));
    ASSERT_GE(hits, 0);
    max_hits = std::max(max_hits, hits);
  }
  EXPECT_GT(killed, 0) << "no run was killed before it ended: lengthen the fill";
  EXPECT_GT(max_hits, 0);
}

}  // namespace
}  // namespace cairn
