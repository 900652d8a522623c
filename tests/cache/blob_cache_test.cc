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
  std::string PathOf(const Id& id) const {
    return dir_ + "/" + id.Hex().substr(0, 2) + "/" + id.Hex();
  }
  // What the blob files take on disk now, charged as BlobCache charges them
  // (temporary files of running Puts included).
  uint64_t OnDisk() const {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().string().find("/index") != std::string::npos) continue;
      std::error_code ec2;
      if (!it->is_regular_file(ec2)) continue;
      uint64_t size = it->file_size(ec2);
      if (!ec2) total += BlobCache::Charge(size);
    }
    return total;
  }

  std::string dir_;
  CountingLogger log_;
};

TEST_F(BlobCacheTest, PutGetContainsRemove) {
  auto c = Open(1 << 20);
  const Id a = MakeId(1);
  EXPECT_FALSE(c->Get(a));
  EXPECT_FALSE(c->Contains(a));
  c->Put(a, Data(1, 5000));
  EXPECT_TRUE(c->Contains(a));
  auto got = c->Get(a);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Data(1, 5000));
  EXPECT_EQ(c->bytes(), BlobCache::Charge(5000));
  EXPECT_EQ(c->bytes(), 8192u);
  c->Put(a, Data(1, 5000));  // already there: nothing changes
  EXPECT_EQ(c->count(), 1u);
  c->Put(MakeId(2), Bytes{});  // an empty blob is a valid entry
  EXPECT_TRUE(c->Get(MakeId(2)).has_value());
  c->Remove(a);
  EXPECT_FALSE(c->Contains(a));
  EXPECT_FALSE(c->Get(a));
  EXPECT_FALSE(std::filesystem::exists(PathOf(a)));
  EXPECT_EQ(c->bytes(), 0u);
  c->Remove(a);  // absent: no-op
  EXPECT_EQ(log_.warnings(), 0);
}

TEST_F(BlobCacheTest, EvictsLeastRecentlyUsed) {
  auto c = Open(3 * 4096);
  const Id a = MakeId(1), b = MakeId(2), d = MakeId(3), e = MakeId(4);
  c->Put(a, Data(1, 4000));
  c->Put(b, Data(2, 4000));
  c->Put(d, Data(3, 4000));
  ASSERT_TRUE(c->Get(a));  // a is now the most recent; b the oldest
  c->Put(e, Data(4, 4000));
  EXPECT_TRUE(c->Contains(a));
  EXPECT_FALSE(c->Contains(b));
  EXPECT_FALSE(std::filesystem::exists(PathOf(b)));
  EXPECT_TRUE(c->Contains(d));
  EXPECT_TRUE(c->Contains(e));
  EXPECT_EQ(c->bytes(), 3u * 4096);
  // Larger than the whole limit: not stored, nothing evicted for it.
  c->Put(MakeId(9), Data(9, 3 * 4096 + 1));
  EXPECT_FALSE(c->Contains(MakeId(9)));
  EXPECT_EQ(c->count(), 3u);
}

TEST_F(BlobCacheTest, LimitNeverExceededUnderConcurrentPuts) {
  // The accounted bytes (which cover every file, temporary ones included:
  // bytes are reserved before a file is created and released after it is
  // unlinked) are sampled all the time; the files themselves are summed
  // between bursts of concurrent Puts, when a directory scan is exact.
  constexpr uint64_t kLimit = 256 << 10;
  auto c = Open(kLimit);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> worst_accounted{0};
  uint64_t worst_disk = 0;
  std::thread monitor([&] {
    while (!done.load()) worst_accounted = std::max(worst_accounted.load(), c->bytes());
  });
  for (int burst = 0; burst < 10; ++burst) {
    std::vector<std::thread> writers;
    for (int t = 0; t < 6; ++t) {
      writers.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(burst * 100 + t));
        for (uint32_t i = 0; i < 40; ++i) {
          uint32_t seed = static_cast<uint32_t>(burst * 10000 + t * 1000) + i;
          c->Put(MakeId(seed), Data(seed, 1 + rng() % 30000));
          if (i % 3 == 0) (void)c->Get(MakeId(seed - rng() % 5));
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
  const Id a = MakeId(1), b = MakeId(2), d = MakeId(3), e = MakeId(4);
  {
    auto c = Open(3 * 4096);
    c->Put(a, Data(1, 4000));
    c->Put(b, Data(2, 4000));
    c->Put(d, Data(3, 4000));
    ASSERT_TRUE(c->Get(a));  // b is the oldest now
  }
  auto c = Open(3 * 4096);
  EXPECT_EQ(c->count(), 3u);
  EXPECT_EQ(c->bytes(), 3u * 4096);
  auto got = c->Get(d);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Data(3, 4000));
  c->Put(e, Data(4, 4000));
  EXPECT_FALSE(c->Contains(b)) << "the least recently used before the restart goes first";
  EXPECT_TRUE(c->Contains(a));
  EXPECT_TRUE(c->Contains(d));
}

TEST_F(BlobCacheTest, SmallerLimitAtReopenEvicts) {
  {
    auto c = Open(1 << 20);
    for (uint32_t i = 0; i < 10; ++i) c->Put(MakeId(i), Data(i, 4096));
  }
  auto c = Open(4 * 4096);
  EXPECT_EQ(c->count(), 4u);
  EXPECT_EQ(OnDisk(), 4u * 4096);
  for (uint32_t i = 6; i < 10; ++i) EXPECT_TRUE(c->Contains(MakeId(i))) << i;
}

TEST_F(BlobCacheTest, TruncatedOrMissingFileIsAMissAndDropped) {
  auto c = Open(1 << 20);
  const Id a = MakeId(1), b = MakeId(2);
  c->Put(a, Data(1, 10000));
  c->Put(b, Data(2, 10000));
  std::filesystem::resize_file(PathOf(a), 100);
  std::filesystem::remove(PathOf(b));
  EXPECT_FALSE(c->Get(a));
  EXPECT_EQ(log_.warnings(), 1);
  EXPECT_NE(log_.last().find(a.Short()), std::string::npos) << log_.last();
  EXPECT_NE(log_.last().find("truncated"), std::string::npos) << log_.last();
  EXPECT_FALSE(c->Contains(a));
  EXPECT_FALSE(std::filesystem::exists(PathOf(a)));
  EXPECT_FALSE(c->Get(b));
  EXPECT_EQ(log_.warnings(), 2);
  EXPECT_EQ(c->bytes(), 0u);
  // Stored again after the miss, it is served again.
  c->Put(a, Data(1, 10000));
  EXPECT_EQ(*c->Get(a), Data(1, 10000));
}

TEST_F(BlobCacheTest, OpenReconcilesFilesAndIndex) {
  const Id a = MakeId(1), b = MakeId(2), orphan = MakeId(3);
  {
    auto c = Open(1 << 20);
    c->Put(a, Data(1, 5000));
    c->Put(b, Data(2, 5000));
  }
  // A file with no entry (a crash before the index commit reached disk),
  // a temporary file left by an interrupted Put, an entry whose file is
  // gone and a file of the wrong size.
  std::filesystem::create_directories(std::filesystem::path(PathOf(orphan)).parent_path());
  std::ofstream(PathOf(orphan)) << "junk";
  std::ofstream(PathOf(a) + ".123-4.tmp") << "partial";
  std::filesystem::remove(PathOf(b));
  auto c = Open(1 << 20);
  EXPECT_FALSE(std::filesystem::exists(PathOf(orphan)));
  EXPECT_FALSE(std::filesystem::exists(PathOf(a) + ".123-4.tmp"));
  EXPECT_FALSE(c->Contains(b));
  EXPECT_TRUE(c->Contains(a));
  EXPECT_EQ(c->count(), 1u);
  EXPECT_EQ(c->bytes(), OnDisk());
  {
    std::ofstream(PathOf(a), std::ios::app) << "x";  // now one byte too long
  }
  c.reset();
  c = Open(1 << 20);
  EXPECT_FALSE(c->Contains(a));
  EXPECT_EQ(c->count(), 0u);
  EXPECT_EQ(OnDisk(), 0u);
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
