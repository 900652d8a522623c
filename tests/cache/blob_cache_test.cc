// BlobCache: round trips, LRU eviction, the hard limit under concurrent
// Puts (checked against the files on disk), persistence across reopen,
// damaged or missing files as misses, orphans removed at Open.
#include "cache/blob_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

namespace cairn {
namespace {

class CountingLogger final : public Logger {
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

class BlobCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-blobcache-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Id MakeId(uint32_t seed) {
    Id id;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < Id::kSize; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      id.bytes[i] = static_cast<uint8_t>(x);
    }
    return id;
  }
  static Bytes Data(uint32_t seed, size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 7 + i * 13);
    return b;
  }
  std::unique_ptr<BlobCache> Open(uint64_t limit) {
    auto c = BlobCache::Open(dir_, limit, &log_);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }
  // The bytes the slab files take now.
  uint64_t OnDisk() const {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir_ + "/slabs", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::error_code ec2;
      uint64_t size = it->file_size(ec2);
      if (!ec2) total += size;
    }
    return total;
  }
  size_t SlabFiles() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/slabs")) n += e.is_regular_file();
    return n;
  }

  std::string dir_;
  CountingLogger log_;
};

TEST_F(BlobCacheTest, PutGetContainsRemove) {
  auto c = Open(1 << 20);
  EXPECT_EQ(c->slab_bytes(), 64u << 10);
  const Id a = MakeId(1);
  EXPECT_FALSE(c->Get(a));
  EXPECT_FALSE(c->Contains(a));
  c->Put(a, Data(1, 5000));
  EXPECT_TRUE(c->Contains(a));
  auto got = c->Get(a);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Data(1, 5000));
  EXPECT_EQ(c->bytes(), 5000u);
  c->Put(a, Data(1, 5000));  // already there: nothing changes
  EXPECT_EQ(c->count(), 1u);
  EXPECT_EQ(c->bytes(), 5000u);
  c->Put(MakeId(2), Bytes{});  // an empty blob is a valid entry
  EXPECT_TRUE(c->Get(MakeId(2)).has_value());
  c->Remove(a);
  EXPECT_FALSE(c->Contains(a));
  EXPECT_FALSE(c->Get(a));
  EXPECT_EQ(c->count(), 1u);
  EXPECT_EQ(c->bytes(), 5000u) << "a removed blob's bytes go with its slab";
  c->Remove(a);  // absent: no-op
  EXPECT_EQ(OnDisk(), c->bytes());
  EXPECT_EQ(log_.warnings(), 0);
}

// With a 1 MiB limit slabs are 64 KiB, so 60,000-byte blobs get one slab
// each and slab LRU is blob LRU; 17 fit.
TEST_F(BlobCacheTest, EvictsLeastRecentlyUsed) {
  auto c = Open(1 << 20);
  for (uint32_t i = 0; i < 17; ++i) c->Put(MakeId(i), Data(i, 60000));
  EXPECT_EQ(c->count(), 17u);
  ASSERT_TRUE(c->Get(MakeId(0)));  // 0 is now the most recent; 1 the oldest
  c->Put(MakeId(17), Data(17, 60000));
  EXPECT_TRUE(c->Contains(MakeId(0)));
  EXPECT_FALSE(c->Contains(MakeId(1)));
  for (uint32_t i = 2; i <= 17; ++i) EXPECT_TRUE(c->Contains(MakeId(i))) << i;
  EXPECT_EQ(c->bytes(), 17u * 60000);
  EXPECT_EQ(OnDisk(), c->bytes());
  EXPECT_EQ(SlabFiles(), 17u);
  // Larger than the whole limit: not stored, nothing evicted for it.
  c->Put(MakeId(99), Data(99, (1 << 20) + 1));
  EXPECT_FALSE(c->Contains(MakeId(99)));
  EXPECT_EQ(c->count(), 17u);
}

TEST_F(BlobCacheTest, SmallBlobsShareASlabAndAreEvictedTogether) {
  auto c = Open(1 << 20);
  for (uint32_t i = 0; i < 32; ++i) c->Put(MakeId(i), Data(i, 4000));  // 16 per slab
  EXPECT_EQ(SlabFiles(), 2u);
  ASSERT_TRUE(c->Get(MakeId(20)));  // the second slab is the more recent
  for (uint32_t i = 100; i < 116; ++i) c->Put(MakeId(i), Data(i, 60000));
  int first = 0, second = 0;
  for (uint32_t i = 0; i < 16; ++i) first += c->Contains(MakeId(i));
  for (uint32_t i = 16; i < 32; ++i) second += c->Contains(MakeId(i));
  EXPECT_EQ(first, 0) << "the least recently used slab went as a whole";
  EXPECT_EQ(second, 16);
  EXPECT_LE(c->bytes(), 1u << 20);
  EXPECT_EQ(OnDisk(), c->bytes());
}

TEST_F(BlobCacheTest, LimitNeverExceededUnderConcurrentPuts) {
  // The accounted bytes (which cover every slab file: ranges are reserved
  // before they are written and released after the slab is unlinked) are
  // sampled all the time; the files themselves are summed between bursts of
  // concurrent Puts, when a directory scan is exact.
  constexpr uint64_t kLimit = 512 << 10;
  auto c = Open(kLimit);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> worst_accounted{0};
  uint64_t worst_disk = 0;
  std::thread monitor([&] {
    while (!done.load()) {
      worst_accounted = std::max(worst_accounted.load(), c->bytes());
      std::this_thread::yield();
    }
  });
  for (int burst = 0; burst < 10; ++burst) {
    std::vector<std::thread> writers;
    for (int t = 0; t < 6; ++t) {
      writers.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(burst * 100 + t));
        for (uint32_t i = 0; i < 40; ++i) {
          uint32_t seed = static_cast<uint32_t>(burst * 10000 + t * 1000) + i;
          c->Put(MakeId(seed), Data(seed, 1 + rng() % 30000));
          if (i % 3 == 0) {
            uint32_t back = seed - rng() % 5;
            auto got = c->Get(MakeId(back));
            if (got && *got != Data(back, got->size())) ADD_FAILURE() << "wrong bytes for " << back;
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    worst_disk = std::max(worst_disk, OnDisk());
    EXPECT_EQ(OnDisk(), c->bytes()) << "accounting matches the files";
  }
  done = true;
  monitor.join();
  EXPECT_LE(worst_accounted.load(), kLimit);
  EXPECT_LE(worst_disk, kLimit);
  EXPECT_GT(c->bytes(), kLimit / 2) << "the cache was used";
  EXPECT_EQ(log_.warnings(), 0) << log_.last();
}

TEST_F(BlobCacheTest, PersistsAcrossReopenWithItsLruOrder) {
  {
    auto c = Open(1 << 20);
    for (uint32_t i = 0; i < 17; ++i) c->Put(MakeId(i), Data(i, 60000));
    ASSERT_TRUE(c->Get(MakeId(0)));  // 1 is the oldest now
  }
  auto c = Open(1 << 20);
  EXPECT_EQ(c->count(), 17u);
  EXPECT_EQ(c->bytes(), 17u * 60000);
  auto got = c->Get(MakeId(5));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Data(5, 60000));
  c->Put(MakeId(17), Data(17, 60000));
  EXPECT_FALSE(c->Contains(MakeId(1))) << "the least recently used before the restart goes first";
  EXPECT_TRUE(c->Contains(MakeId(0)));
  EXPECT_TRUE(c->Contains(MakeId(2)));
  EXPECT_TRUE(c->Contains(MakeId(17)));
}

TEST_F(BlobCacheTest, SmallerLimitAtReopenEvicts) {
  {
    auto c = Open(1 << 20);
    for (uint32_t i = 0; i < 17; ++i) c->Put(MakeId(i), Data(i, 60000));
  }
  auto c = Open(256 << 10);
  EXPECT_EQ(c->count(), 4u);
  EXPECT_EQ(OnDisk(), 4u * 60000);
  for (uint32_t i = 13; i < 17; ++i) EXPECT_TRUE(c->Contains(MakeId(i))) << i;
}

TEST_F(BlobCacheTest, TruncatedOrMissingSlabIsAMissAndDropped) {
  auto c = Open(1 << 20);
  const Id a = MakeId(1), b = MakeId(2);
  c->Put(a, Data(1, 10000));
  c->Put(b, Data(2, 10000));
  auto where = c->Locate(b);
  ASSERT_TRUE(where);
  EXPECT_EQ(where->offset, 10000u);
  EXPECT_EQ(where->path, c->Locate(a)->path);
  std::filesystem::resize_file(where->path, 15000);
  EXPECT_FALSE(c->Get(b));
  EXPECT_EQ(log_.warnings(), 1);
  EXPECT_NE(log_.last().find(b.Short()), std::string::npos) << log_.last();
  EXPECT_NE(log_.last().find("truncated"), std::string::npos) << log_.last();
  EXPECT_FALSE(c->Contains(b));
  EXPECT_EQ(*c->Get(a), Data(1, 10000)) << "the intact blob before the cut still reads";
  std::filesystem::remove(where->path);
  EXPECT_FALSE(c->Get(a));
  EXPECT_EQ(log_.warnings(), 2);
  EXPECT_FALSE(c->Contains(a));
  // Stored again after the miss, it is served again.
  c->Put(a, Data(1, 10000));
  EXPECT_EQ(*c->Get(a), Data(1, 10000));
}

TEST_F(BlobCacheTest, OpenReconcilesSlabsAndIndex) {
  const Id a = MakeId(1), b = MakeId(2), big = MakeId(3);
  std::string slab1, slab2;
  {
    auto c = Open(1 << 20);
    c->Put(a, Data(1, 5000));
    c->Put(b, Data(2, 5000));
    c->Put(big, Data(3, 70000));  // larger than a slab: a slab of its own
    slab1 = c->Locate(a)->path;
    slab2 = c->Locate(big)->path;
    ASSERT_NE(slab1, slab2);
  }
  // b cut off by a truncated slab; big's slab gone; a slab file no entry
  // references (a crash before its entries were committed); junk.
  std::filesystem::resize_file(slab1, 7000);
  std::filesystem::remove(slab2);
  std::ofstream(dir_ + "/slabs/00000000000000ff") << "orphan";
  std::ofstream(dir_ + "/slabs/junk") << "junk";
  auto c = Open(1 << 20);
  EXPECT_TRUE(c->Contains(a));
  EXPECT_EQ(*c->Get(a), Data(1, 5000));
  EXPECT_FALSE(c->Contains(b));
  EXPECT_FALSE(c->Contains(big));
  EXPECT_EQ(c->count(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/slabs/00000000000000ff"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/slabs/junk"));
  EXPECT_EQ(SlabFiles(), 1u);
  EXPECT_EQ(c->bytes(), OnDisk());
  EXPECT_EQ(log_.warnings(), 0) << log_.last();
  // New blobs go to a new slab, not after the old slab's (maybe torn) end.
  c->Put(b, Data(2, 5000));
  EXPECT_NE(c->Locate(b)->path, slab1);
  EXPECT_EQ(*c->Get(b), Data(2, 5000));
}

TEST_F(BlobCacheTest, OneOpenerPerDirectory) {
  auto c = Open(1 << 20);
  c->Put(MakeId(1), Data(1, 100));
  auto second = BlobCache::Open(dir_, 1 << 20);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kLocked);
  EXPECT_NE(second.error().message().find(dir_), std::string::npos) << second.error().message();
  EXPECT_NE(second.error().message().find("--cache-dir"), std::string::npos);
  c.reset();  // closing releases the lock
  auto third = BlobCache::Open(dir_, 1 << 20);
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_TRUE((*third)->Contains(MakeId(1)));
}

TEST_F(BlobCacheTest, UnusableDirectoryIsAnErrorAtOpenOnly) {
  std::ofstream(dir_ + "/file") << "x";
  auto c = BlobCache::Open(dir_ + "/file/sub", 1 << 20);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("--cache-dir"), std::string::npos) << c.error().message();
}

}  // namespace
}  // namespace cairn
