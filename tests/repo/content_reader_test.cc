// ContentReader on MemoryStore / FaultyStore: byte-exact random and
// sequential reads (extent boundaries, holes, EOF), read-ahead and
// coalescing counted in store GETs, shared fetches, corruption and missing
// packs, a 503-failing store under RetryingStore, and the disk cache.
#include "repo/content_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <random>
#include <thread>

#include "backend/open_store.h"
#include "backend/retrying_store.h"
#include "repo/backup.h"
#include "repo/pack.h"
#include "repo/tree_walk.h"
#include "tests/support/faulty_store.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

using Borrowed = BorrowedStore;

// Keeps every line, for "one log line" checks.
class CapturingLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(level, std::string(message));
  }
  bool Enabled(LogLevel level) const override { return level >= LogLevel::kWarning; }
  size_t Count(LogLevel level) const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& l : lines_) n += l.first == level;
    return n;
  }
  std::string All() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string s;
    for (const auto& l : lines_) s += l.second + "\n";
    return s;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

class ContentReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-reader-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_);
    big_ = test::RandomString(3 << 20, 1);
    other_ = test::RandomString(300 << 10, 2);
    Write("big", big_);
    Write("other", other_);
    Write("tiny", "hello");
    Write("empty", "");

    // Small chunks: hundreds of blobs per file, several packs.
    InitOptions init;
    init.kdf.n = 1 << 10;
    init.chunker = {1024, 4096, 16384};
    init.pack_size = 1 << 20;
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    open.logger = &log_;
    faulty_ = std::make_unique<FaultyStore>(mem_);
    StoreOptions so;
    so.retry_base_delay_ms = 1;
    auto retrying = std::make_unique<RetryingStore>(std::make_unique<Borrowed>(*faulty_), so);
    auto repo = Repository::Init(std::move(retrying), "pw", init, open);
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
    BackupOptions bo;
    bo.paths = {src_};
    auto r = RunBackup(*repo_, bo, nullptr, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().message();
    snap_ = r->snapshot;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary) << data;
  }
  Node NodeOf(const std::string& rel) {
    auto codec = repo_->NewCodec();
    auto n = ResolvePath(*repo_, *codec, snap_, src_ + "/" + rel);
    EXPECT_TRUE(n) << n.error().message();
    return n ? *n : Node{};
  }
  // Reads [offset, offset+len) and returns what came back ("ERR: ..." on error).
  static std::string ReadAt(ContentReader& r, ContentReader::File& f, uint64_t offset,
                            size_t len) {
    std::string buf(len, '\x55');
    auto n = r.Read(f, offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), len));
    if (!n) return "ERR: " + n.error().message();
    buf.resize(*n);
    return buf;
  }
  static std::string ReadAll(ContentReader& r, ContentReader::File& f, size_t piece) {
    std::string all;
    for (uint64_t off = 0;;) {
      std::string p = ReadAt(r, f, off, piece);
      if (p.rfind("ERR: ", 0) == 0) return p;
      if (p.empty()) return all;
      all += p;
      off += p.size();
    }
  }
  // The pack and location of the blob holding byte `offset` of node.
  BlobLocation LocAt(const Node& n, uint64_t offset) {
    uint64_t start = 0;
    for (const Extent& x : n.content) {
      if (offset < start + x.length && !x.hole) return *repo_->FindBlob(x.blob);
      start += x.length;
    }
    ADD_FAILURE() << "no blob at " << offset;
    return {};
  }
  size_t DataExtents(const Node& n) {
    size_t k = 0;
    for (const Extent& x : n.content) k += !x.hole;
    return k;
  }

  std::string root_, src_, big_, other_;
  CapturingLogger log_;
  MemoryStore mem_;
  std::unique_ptr<FaultyStore> faulty_;
  std::unique_ptr<Repository> repo_;
  Snapshot snap_;
};

TEST_F(ContentReaderTest, RandomReadsMatchTheSourceByteForByte) {
  Node big = NodeOf("big");
  ASSERT_GT(DataExtents(big), 200u);  // many chunks
  ContentReaderOptions opts;
  opts.memory_cache_bytes = 256 << 10;  // smaller than the file: evictions happen
  ContentReader reader(*repo_, nullptr, opts);
  auto f = reader.Open(big, "/src/big");
  EXPECT_EQ(f->size(), big_.size());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1500; ++i) {
    uint64_t off = rng() % big_.size();
    size_t len = 1 + rng() % (i % 3 == 0 ? 200000 : 9000);
    std::string want = big_.substr(off, len);
    ASSERT_EQ(ReadAt(reader, *f, off, len), want) << "offset " << off << " length " << len;
  }
  EXPECT_EQ(reader.stats().readahead_blobs, 0u) << "random reads must not read ahead";
}

TEST_F(ContentReaderTest, RamCacheStaysWithinItsBound) {
  Node big = NodeOf("big");
  ContentReaderOptions opts;
  opts.memory_cache_bytes = 300 << 10;
  ContentReader reader(*repo_, nullptr, opts);
  auto f = reader.Open(big, "/src/big");
  EXPECT_EQ(ReadAll(reader, *f, 128 << 10), big_);
  EXPECT_LE(reader.stats().ram_bytes, opts.memory_cache_bytes);
  EXPECT_GT(reader.stats().ram_bytes, 0u);
}

TEST_F(ContentReaderTest, ExtentBoundariesAndEof) {
  Node big = NodeOf("big");
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(big, "/src/big");
  uint64_t start = 0;
  for (size_t i = 0; i + 1 < big.content.size() && i < 40; ++i) {
    start += big.content[i].length;
    // Straddling the boundary, ending on it, starting on it.
    EXPECT_EQ(ReadAt(reader, *f, start - 3, 7), big_.substr(start - 3, 7));
    EXPECT_EQ(ReadAt(reader, *f, start - 5, 5), big_.substr(start - 5, 5));
    EXPECT_EQ(ReadAt(reader, *f, start, 1), big_.substr(start, 1));
  }
  // Spanning many extents at once.
  EXPECT_EQ(ReadAt(reader, *f, 1000, 1 << 20), big_.substr(1000, 1 << 20));
  // EOF: short read, then 0; past the end: 0.
  EXPECT_EQ(ReadAt(reader, *f, big_.size() - 10, 100), big_.substr(big_.size() - 10));
  EXPECT_EQ(ReadAt(reader, *f, big_.size(), 100), "");
  EXPECT_EQ(ReadAt(reader, *f, big_.size() + 12345, 100), "");
  EXPECT_EQ(ReadAt(reader, *f, 0, 0), "");

  auto tiny = reader.Open(NodeOf("tiny"), "/src/tiny");
  EXPECT_EQ(ReadAt(reader, *tiny, 0, 4096), "hello");
  EXPECT_EQ(ReadAt(reader, *tiny, 2, 2), "ll");
  auto empty = reader.Open(NodeOf("empty"), "/src/empty");
  EXPECT_EQ(ReadAt(reader, *empty, 0, 4096), "");
}

TEST_F(ContentReaderTest, OneLargeRandomReadIsCoalesced) {
  Node big = NodeOf("big");
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(big, "/src/big");
  const uint64_t off = 777777;
  EXPECT_EQ(ReadAt(reader, *f, off, 1 << 20), big_.substr(off, 1 << 20));
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(st.readahead_blobs, 0u);
  EXPECT_GT(st.store_blobs, 100u);
  EXPECT_LE(st.store_gets, 4u) << st.store_blobs << " blobs in " << st.store_gets << " GETs";
}

TEST_F(ContentReaderTest, SizeBeyondTheExtentsIsCorruption) {
  Node other = NodeOf("other");
  Node damaged = other;
  damaged.size += 100;  // a tree whose extents do not cover the size
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(damaged, "/src/damaged");
  EXPECT_EQ(ReadAt(reader, *f, 0, 1000), other_.substr(0, 1000));
  std::string r = ReadAt(reader, *f, other_.size() - 10, 50);
  EXPECT_EQ(r.rfind("ERR: /src/damaged: the file's extents cover", 0), 0u) << r;
  EXPECT_EQ(log_.Count(LogLevel::kError), 1u) << log_.All();
}

TEST_F(ContentReaderTest, HolesReadAsZeros) {
  // A sparse file: holes before, between and after stored extents.
  Node other = NodeOf("other");
  Node sparse = other;
  sparse.content.clear();
  std::string want;
  auto hole = [&](uint64_t n) {
    sparse.content.push_back(Extent{Id{}, n, true});
    want.append(n, '\0');
  };
  hole(5000);
  uint64_t src_off = 0;
  for (size_t i = 0; i < other.content.size(); ++i) {
    const Extent& x = other.content[i];
    sparse.content.push_back(x);
    want += other_.substr(src_off, x.length);
    src_off += x.length;
    if (i % 5 == 2) hole(1 + i * 37);
  }
  hole(70000);
  sparse.size = want.size();
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(sparse, "/src/sparse");
  EXPECT_EQ(ReadAll(reader, *f, 128 << 10), want);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 500; ++i) {
    uint64_t off = rng() % want.size();
    size_t len = 1 + rng() % 20000;
    ASSERT_EQ(ReadAt(reader, *f, off, len), want.substr(off, len)) << off << "+" << len;
  }
  // A file that is one hole stores nothing and is "cached" trivially.
  Node all_hole = other;
  all_hole.content = {Extent{Id{}, 1 << 20, true}};
  all_hole.size = 1 << 20;
  auto h = reader.Open(all_hole, "/src/hole");
  EXPECT_EQ(ReadAt(reader, *h, 4096, 8192), std::string(8192, '\0'));
}

TEST_F(ContentReaderTest, SequentialReadsReadAheadWithCoalescedGets) {
  Node big = NodeOf("big");
  const size_t blobs = DataExtents(big);
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(big, "/src/big");
  const uint64_t gets_before = faulty_->Calls(StoreOp::kGet);
  EXPECT_EQ(ReadAll(reader, *f, 128 << 10), big_);
  const uint64_t gets = faulty_->Calls(StoreOp::kGet) - gets_before;
  ContentReaderStats st = reader.stats();
  EXPECT_GT(st.readahead_blobs, blobs / 2) << "sequential reads are read ahead";
  EXPECT_EQ(st.store_blobs, blobs) << "each blob fetched once";
  EXPECT_EQ(st.store_gets, gets);
  // Adjacent blobs share GETs: far fewer GETs than blobs.
  EXPECT_LT(gets * 10, blobs) << gets << " GETs for " << blobs << " blobs";
  EXPECT_EQ(log_.Count(LogLevel::kError), 0u);
}

TEST_F(ContentReaderTest, ReadAheadWindowGrowsWhileSequentialAndStopsOnRandomReads) {
  // A 24 MiB file made of big's extents eight times over.
  Node big = NodeOf("big");
  Node longer = big;
  std::string want;
  for (int i = 1; i < 8; ++i) {
    longer.content.insert(longer.content.end(), big.content.begin(), big.content.end());
  }
  for (int i = 0; i < 8; ++i) want += big_;
  longer.size = want.size();
  ContentReaderOptions opts;
  opts.memory_cache_bytes = 16 << 20;  // caps one stream's window at 8 MiB
  ContentReader reader(*repo_, nullptr, opts);
  auto f = reader.Open(longer, "/src/longer");
  EXPECT_EQ(f->readahead_window(), 0u);
  uint64_t off = 0;
  std::vector<uint64_t> windows;
  for (; off < (20u << 20); off += 128 << 10) {
    ASSERT_EQ(ReadAt(reader, *f, off, 128 << 10), want.substr(off, 128 << 10));
    if (windows.empty() || windows.back() != f->readahead_window()) {
      windows.push_back(f->readahead_window());
    }
  }
  EXPECT_EQ(windows, (std::vector<uint64_t>{2 << 20, 4 << 20, 8 << 20}));
  // Two reads that continue nothing: random access, the window closes.
  EXPECT_EQ(ReadAt(reader, *f, 3333333, 1000), want.substr(3333333, 1000));
  EXPECT_EQ(f->readahead_window(), 8u << 20) << "one stray read may be a reordered one";
  EXPECT_EQ(ReadAt(reader, *f, 1111111, 1000), want.substr(1111111, 1000));
  EXPECT_EQ(f->readahead_window(), 0u);
  // Reading on from there is sequential again.
  EXPECT_EQ(ReadAt(reader, *f, 1112111, 5000), want.substr(1112111, 5000));
  EXPECT_EQ(f->readahead_window(), 2u << 20);
}

TEST_F(ContentReaderTest, OneBlobIsDecodedOnceForManySmallReads) {
  Node other = NodeOf("other");
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(other, "/src/other");
  // Backwards, so no read looks sequential: the RAM cache alone must serve
  // the second and later reads of each blob.
  std::string got(other_.size(), '\0');
  for (uint64_t end = other_.size(); end > 0;) {
    uint64_t off = end > 512 ? end - 512 : 0;
    std::string p = ReadAt(reader, *f, off, end - off);
    ASSERT_EQ(p.size(), end - off) << p;
    got.replace(off, p.size(), p);
    end = off;
  }
  EXPECT_EQ(got, other_);
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(st.store_blobs, DataExtents(other));
  EXPECT_EQ(st.readahead_blobs, 0u);
  EXPECT_GT(st.ram_hits, st.store_blobs);
}

TEST_F(ContentReaderTest, ConcurrentReadersShareOneFetch) {
  Node big = NodeOf("big");
  ContentReader reader(*repo_, nullptr, {});
  const uint64_t off = 1 << 20;
  const size_t len = 100;
  faulty_->DelayMs(200);  // the first fetch is still running when the others ask
  const uint64_t gets_before = faulty_->Calls(StoreOp::kGet);
  constexpr int kThreads = 6;
  std::latch start(kThreads);
  std::vector<std::string> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto f = reader.Open(big, "/src/big");  // each its own handle, like two `cat`s
      start.arrive_and_wait();
      got[t] = ReadAt(reader, *f, off + static_cast<uint64_t>(t), len);
    });
  }
  for (auto& t : threads) t.join();
  faulty_->DelayMs(0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], big_.substr(off + t, len));
  // One GET (the blob holding off; the reads are not sequential from 0).
  EXPECT_EQ(faulty_->Calls(StoreOp::kGet) - gets_before, 1u);
  EXPECT_EQ(reader.stats().store_gets, 1u);
}

TEST_F(ContentReaderTest, CorruptedPackByteFailsOnlyThatFileWithOneLogLine) {
  Node other = NodeOf("other");
  Node big = NodeOf("big");
  const uint64_t at = 100000;
  BlobLocation loc = LocAt(other, at);
  const std::string key = PackKey(loc.pack);
  ASSERT_TRUE(mem_.MutateRaw(key, [&](Bytes& b) { b[loc.offset + loc.length / 2] ^= 1; }));

  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(other, "/snapshots/x/src/other");
  std::string r = ReadAt(reader, *f, at, 10);
  ASSERT_EQ(r.rfind("ERR: ", 0), 0u) << "corrupt bytes were returned";
  EXPECT_NE(r.find("/snapshots/x/src/other"), std::string::npos) << r;
  EXPECT_NE(r.find(LocAt(other, at).pack.Short()), std::string::npos) << r;
  uint64_t start = 0;
  for (const Extent& x : other.content) {
    if (at < start + x.length) {
      EXPECT_NE(r.find(x.blob.Short()), std::string::npos) << r;
      break;
    }
    start += x.length;
  }
  auto again = reader.Read(*f, at, std::span<uint8_t>());
  EXPECT_TRUE(again);  // empty read: nothing to fetch
  std::string buf(10, '\0');
  auto second = reader.Read(*f, at, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), 10));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(log_.Count(LogLevel::kError), 1u) << log_.All();

  // The rest of the file and other files still read (other blobs of the
  // same pack included).
  EXPECT_EQ(ReadAt(reader, *f, 0, 1000), other_.substr(0, 1000));
  auto b = reader.Open(big, "/src/big");
  EXPECT_EQ(ReadAll(reader, *b, 128 << 10), big_);
}

TEST_F(ContentReaderTest, MissingPackIsNotFoundNamingFileBlobAndPack) {
  Node other = NodeOf("other");
  BlobLocation loc = LocAt(other, 0);
  ASSERT_TRUE(mem_.Delete(PackKey(loc.pack)).ok());
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(other, "/src/other");
  std::string buf(64, '\0');
  auto r = reader.Read(*f, 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), 64));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("/src/other"), std::string::npos) << m;
  EXPECT_NE(m.find(loc.pack.Short()), std::string::npos) << m;
  EXPECT_NE(m.find(other.content[0].blob.Short()), std::string::npos) << m;
  EXPECT_EQ(log_.Count(LogLevel::kError), 1u) << log_.All();
}

TEST_F(ContentReaderTest, BlobMissingFromTheIndexIsNotFound) {
  Node other = NodeOf("other");
  Node bogus = other;
  bogus.content[0].blob.bytes[0] ^= 0xff;
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(bogus, "/src/bogus");
  std::string r = ReadAt(reader, *f, 0, 10);
  EXPECT_NE(r.find("ERR: /src/bogus: data blob"), std::string::npos) << r;
  EXPECT_NE(r.find("not in the index"), std::string::npos) << r;
}

TEST_F(ContentReaderTest, ReadsThroughA503FailingStoreUnderRetries) {
  Node big = NodeOf("big");
  faulty_->FailEvery(StoreOp::kGet, 3);
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(big, "/src/big");
  EXPECT_EQ(ReadAll(reader, *f, 128 << 10), big_);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50; ++i) {
    uint64_t off = rng() % big_.size();
    ASSERT_EQ(ReadAt(reader, *f, off, 5000), big_.substr(off, 5000));
  }
  EXPECT_GT(faulty_->InjectedFailures(), 0u);
}

TEST_F(ContentReaderTest, UnreachableStoreFailsTheReadAfterRetriesThenRecovers) {
  Node other = NodeOf("other");
  ContentReader reader(*repo_, nullptr, {});
  auto f = reader.Open(other, "/src/other");
  faulty_->FailEvery(StoreOp::kGet, 1);  // every GET answers 503
  std::string buf(1000, '\0');
  auto r = reader.Read(*f, 5000, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), 1000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  EXPECT_NE(r.error().message().find("/src/other"), std::string::npos) << r.error().message();
  EXPECT_EQ(log_.Count(LogLevel::kError), 1u) << log_.All();
  // A failed fetch is not remembered: once the store answers, reads work.
  faulty_->ClearFaults();
  EXPECT_EQ(ReadAt(reader, *f, 5000, 1000), other_.substr(5000, 1000));
  EXPECT_EQ(ReadAll(reader, *f, 64 << 10), other_);
}

TEST_F(ContentReaderTest, DestroyedWhileReadAheadIsRunning) {
  Node big = NodeOf("big");
  auto cache = BlobCache::Open(root_ + "/blobs", 64 << 20, &log_);
  ASSERT_TRUE(cache);
  {
    ContentReader reader(*repo_, cache->get(), {});
    auto f = reader.Open(big, "/src/big");
    EXPECT_EQ(ReadAt(reader, *f, 0, 128 << 10), big_.substr(0, 128 << 10));
    EXPECT_EQ(ReadAt(reader, *f, 128 << 10, 128 << 10), big_.substr(128 << 10, 128 << 10));
    faulty_->DelayMs(20);  // read-ahead still running at destruction
    f.reset();
  }
  faulty_->DelayMs(0);
  EXPECT_GT((*cache)->count(), 0u);  // what was fetched was written before the reader went
  EXPECT_EQ(log_.Count(LogLevel::kError), 0u) << log_.All();
}

TEST_F(ContentReaderTest, DiskCacheServesWarmReadsWithoutTheStore) {
  Node big = NodeOf("big");
  auto cache = BlobCache::Open(root_ + "/blobs", 64 << 20, &log_);
  ASSERT_TRUE(cache) << cache.error().message();
  {
    ContentReader reader(*repo_, cache->get(), {});
    EXPECT_EQ(reader.State(big), "stored");
    auto f = reader.Open(big, "/src/big");
    EXPECT_EQ(ReadAll(reader, *f, 128 << 10), big_);
    EXPECT_EQ(reader.State(big), "cached");
  }
  EXPECT_EQ((*cache)->count(), DataExtents(big));
  // The disk holds stored (encrypted) bytes, never the plaintext.
  bool plaintext_found = false;
  int checked = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root_ + "/blobs")) {
    if (!e.is_regular_file() || e.path().parent_path().filename() != "slabs") continue;
    ++checked;
    std::ifstream in(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    // Any 64 bytes of plaintext would be found; sample every 64 KiB.
    for (size_t at = 0; at + 64 <= data.size(); at += 64 << 10) {
      if (big_.find(data.substr(at, 64)) != std::string::npos) plaintext_found = true;
    }
  }
  EXPECT_GT(checked, 0);
  EXPECT_FALSE(plaintext_found);

  // A new reader (empty RAM cache) reads everything from the disk cache.
  ContentReader warm(*repo_, cache->get(), {});
  EXPECT_EQ(warm.State(big), "cached");
  auto f = warm.Open(big, "/src/big");
  const uint64_t gets_before = faulty_->Calls(StoreOp::kGet);
  EXPECT_EQ(ReadAll(warm, *f, 128 << 10), big_);
  EXPECT_EQ(faulty_->Calls(StoreOp::kGet), gets_before);
  EXPECT_EQ(warm.stats().disk_hits, DataExtents(big));
}

TEST_F(ContentReaderTest, DamagedDiskCacheEntryIsDroppedAndFetchedAgain) {
  Node other = NodeOf("other");
  auto cache = BlobCache::Open(root_ + "/blobs", 64 << 20, &log_);
  ASSERT_TRUE(cache);
  {
    ContentReader reader(*repo_, cache->get(), {});
    auto f = reader.Open(other, "/src/other");
    ASSERT_EQ(ReadAll(reader, *f, 64 << 10), other_);
  }
  // Flip a byte of one cached blob; cut short the slab holding the blob
  // stored last (at the end of its slab).
  Id cut;
  uint64_t cut_end = 0;
  for (const Extent& x : other.content) {
    auto w = (*cache)->Locate(x.blob);
    ASSERT_TRUE(w);
    if (w->offset + w->size > cut_end) cut = x.blob, cut_end = w->offset + w->size;
  }
  const Id flipped = cut == other.content[1].blob ? other.content[2].blob : other.content[1].blob;
  auto fw = (*cache)->Locate(flipped), cw = (*cache)->Locate(cut);
  ASSERT_TRUE(fw && cw);
  {
    std::fstream io(fw->path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(fw->offset + 20));
    char c;
    io.get(c);
    io.seekp(static_cast<std::streamoff>(fw->offset + 20));
    io.put(static_cast<char>(c ^ 1));
  }
  std::filesystem::resize_file(cw->path, cw->offset + 10);
  ContentReader reader(*repo_, cache->get(), {});
  auto f = reader.Open(other, "/src/other");
  EXPECT_EQ(ReadAll(reader, *f, 64 << 10), other_);
  const uint64_t refetched = reader.stats().store_blobs;
  EXPECT_EQ(refetched, 2u) << "only the damaged blobs came from the store";
  reader.FlushDiskCache();
  EXPECT_EQ(reader.stats().disk_puts, refetched);
  EXPECT_GE(log_.Count(LogLevel::kWarning), 2u) << log_.All();
  EXPECT_EQ(log_.Count(LogLevel::kError), 0u) << log_.All();
  // Both were stored again, intact.
  EXPECT_TRUE((*cache)->Contains(flipped));
  EXPECT_TRUE((*cache)->Contains(cut));
  ContentReader again(*repo_, cache->get(), {});
  auto g = again.Open(other, "/src/other");
  EXPECT_EQ(ReadAll(again, *g, 64 << 10), other_);
  EXPECT_EQ(again.stats().store_blobs, 0u);
}

TEST_F(ContentReaderTest, CacheWritesBeyondTheQueueBoundAreDroppedNotWaitedFor) {
  Node other = NodeOf("other");
  auto cache = BlobCache::Open(root_ + "/blobs", 64 << 20, &log_);
  ASSERT_TRUE(cache);
  ContentReaderOptions opts;
  opts.max_pending_cache_writes = 0;  // the writer is always "behind"
  ContentReader reader(*repo_, cache->get(), opts);
  auto f = reader.Open(other, "/src/other");
  EXPECT_EQ(ReadAll(reader, *f, 64 << 10), other_);
  reader.FlushDiskCache();
  EXPECT_EQ(reader.stats().disk_puts, 0u);
  EXPECT_EQ(reader.stats().disk_puts_dropped, DataExtents(other));
  EXPECT_EQ((*cache)->count(), 0u);
  EXPECT_EQ(reader.State(other), "cached") << "in RAM";
}

TEST_F(ContentReaderTest, ManyThreadsReadingManyFiles) {
  Node big = NodeOf("big"), other = NodeOf("other");
  auto cache = BlobCache::Open(root_ + "/blobs", 1 << 20, &log_);  // small: evicts
  ASSERT_TRUE(cache);
  ContentReaderOptions opts;
  opts.memory_cache_bytes = 512 << 10;
  opts.max_readahead_bytes = 256 << 10;
  ContentReader reader(*repo_, cache->get(), opts);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const bool use_big = t % 2 == 0;
      auto f = reader.Open(use_big ? big : other, "/src/f");
      const std::string& want = use_big ? big_ : other_;
      if (t < 2) {
        if (ReadAll(reader, *f, (t + 1) * 50000) != want) ++failures;
        return;
      }
      std::mt19937_64 rng(t);
      for (int i = 0; i < 300; ++i) {
        uint64_t off = rng() % want.size();
        size_t len = 1 + rng() % 70000;
        if (ReadAt(reader, *f, off, len) != want.substr(off, len)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE((*cache)->bytes(), 1u << 20);
}

}  // namespace
}  // namespace cairn
