// ContentReader's read-ahead across the files of a Sequence, on MemoryStore
// / FaultyStore: files opened in order are served from RAM with few
// coalesced GETs, the window grows and is bounded, random opens stop it and
// cost the next sequences their first window, and failing or corrupt
// background fetches fail only the read of the file itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "backend/retrying_store.h"
#include "repo/backup.h"
#include "repo/content_reader.h"
#include "repo/pack.h"
#include "repo/tree_walk.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

class CountingLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (level >= LogLevel::kError) errors_.emplace_back(message);
  }
  bool Enabled(LogLevel level) const override { return level >= LogLevel::kWarning; }
  std::vector<std::string> Errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> errors_;
};

// Forwards to a store; GETs of packs can be held at a gate, and are
// counted as they start and return.
class GateStore final : public ObjectStore {
 public:
  explicit GateStore(ObjectStore& s) : s_(s) {}
  Result<ObjectInfo> Head(std::string_view k) override { return s_.Head(k); }
  Status List(std::string_view p, const std::function<Status(const ObjectInfo&)>& fn) override {
    return s_.List(p, fn);
  }
  Status Delete(std::string_view k) override { return s_.Delete(k); }
  std::string Describe() const override { return s_.Describe(); }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  void WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return started_ >= n; });
  }
  // From now on, a pack GET returning counts as late (see late()).
  void MarkDestroyed() { destroyed_ = true; }
  int started() const {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  int late() const { return late_.load(); }  // pack GETs that returned after MarkDestroyed

 protected:
  Result<Bytes> DoGet(std::string_view k, uint64_t o, uint64_t l) override {
    if (!k.starts_with("packs/")) return s_.Get(k, o, l);
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++started_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_; });
    }
    auto r = s_.Get(k, o, l);
    if (destroyed_.load()) late_.fetch_add(1);
    return r;
  }
  Status DoPut(std::string_view k, ByteView d, const PutOptions& o) override {
    return s_.Put(k, d, o);
  }

 private:
  ObjectStore& s_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;  // GUARDED_BY(mu_)
  int started_ = 0;    // GUARDED_BY(mu_)
  std::atomic<bool> destroyed_{false};
  std::atomic<int> late_{0};
};

constexpr size_t kFiles = 60;

class ContentReaderAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-ahead-XXXXXX";
    root_ = mkdtemp(tmpl);
    const std::string src = root_ + "/src";
    std::filesystem::create_directories(src + "/d/sub");
    // One directory of small files (2-20 KiB, distinct contents), with a
    // subdirectory and an empty file among them, like a source tree.
    for (size_t i = 0; i < kFiles; ++i) {
      char name[16];
      snprintf(name, sizeof name, "f%03zu", i);
      contents_.push_back(test::RandomString(2048 + (i * 7919) % (18 << 10), i + 10));
      std::ofstream(src + "/d/" + name, std::ios::binary) << contents_.back();
      names_.push_back(name);
    }
    std::ofstream(src + "/d/f030-empty");
    std::ofstream(src + "/d/sub/x") << "x";

    InitOptions init;
    init.kdf.n = 1 << 10;
    init.chunker = {1024, 4096, 16384};
    init.pack_size = 1 << 20;
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    open.logger = &log_;
    faulty_ = std::make_unique<FaultyStore>(mem_);
    RetryPolicy so;
    so.retry_base_delay_ms = 1;
    auto gate = std::make_unique<GateStore>(*faulty_);
    gate_ = gate.get();
    auto retrying = std::make_unique<RetryingStore>(std::move(gate), so);
    auto repo = Repository::Init(std::move(retrying), "pw", init, open);
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
    BackupOptions bo;
    bo.paths = {src};
    auto r = RunBackup(*repo_, bo, nullptr, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().message();

    // The directory's entries in order, as fs/ would produce them.
    auto codec = repo_->NewCodec();
    auto dir = ResolvePath(*repo_, *codec, r->snapshot, src + "/d");
    ASSERT_TRUE(dir) << dir.error().message();
    std::vector<std::string> all = names_;
    all.push_back("f030-empty");
    all.push_back("sub");
    std::sort(all.begin(), all.end());
    for (const std::string& n : all) {
      auto node = ResolvePath(*repo_, *codec, r->snapshot, src + "/d/" + n);
      ASSERT_TRUE(node) << node.error().message();
      entries_.push_back(*node);
    }
    for (size_t i = 0; i < names_.size(); ++i) {
      pos_.push_back(
          static_cast<uint64_t>(std::find(all.begin(), all.end(), names_[i]) - all.begin()));
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  ContentReader::UpcomingFn Upcoming() {
    return [this](uint64_t from, const ContentReader::UpcomingNodeFn& fn) {
      for (uint64_t p = from; p < entries_.size(); ++p) {
        if (!fn(p, entries_[p], true)) break;
      }
      return Status::OK();
    };
  }
  // Opens file i (of names_) in seq and reads it whole in 4 KiB reads.
  std::string OpenAndRead(ContentReader& r, ContentReader::Sequence* seq, size_t i) {
    const Node& n = entries_[pos_[i]];
    auto f = r.Open(n, "/d/" + names_[i]);
    if (seq) r.Opened(*seq, pos_[i], Upcoming());
    std::string all;
    for (uint64_t off = 0;;) {
      std::string buf(4096, '\0');
      auto got = r.Read(*f, off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), 4096));
      if (!got) return "ERR: " + got.error().message();
      if (*got == 0) return all;
      all.append(buf, 0, *got);
      off += *got;
    }
  }
  size_t Blobs(size_t i) {
    size_t k = 0;
    for (const Extent& x : entries_[pos_[i]].content) k += !x.hole;
    return k;
  }

  std::string root_;
  CountingLogger log_;
  MemoryStore mem_;
  std::unique_ptr<FaultyStore> faulty_;
  GateStore* gate_ = nullptr;  // owned by the repository's store chain
  std::unique_ptr<Repository> repo_;
  std::vector<std::string> names_, contents_;
  std::vector<Node> entries_;  // the directory's entries, by position
  std::vector<uint64_t> pos_;  // pos_[i]: position of names_[i]
};

TEST_F(ContentReaderAheadTest, FilesOpenedInOrderAreServedFromRamWithFewGets) {
  ContentReader reader(*repo_, nullptr, {});
  auto seq = reader.NewSequence();
  size_t blobs = 0;  // of the files after the first
  for (size_t i = 0; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, seq.get(), i), contents_[i]) << names_[i];
    if (i > 0) blobs += Blobs(i);
  }
  ContentReaderStats st = reader.stats();
  // Every blob after the first file's (which its read fetched itself) was
  // fetched in the background before its read wanted it, each once.
  EXPECT_EQ(st.prefetch_hits, blobs);
  EXPECT_EQ(st.prefetch_blobs, blobs);
  EXPECT_EQ(st.store_blobs, blobs + Blobs(0));
  EXPECT_EQ(st.prefetch_files, kFiles - 1);
  EXPECT_EQ(st.prefetch_wasted, 0u);
  EXPECT_EQ(st.background_retries, 0u);
  // Adjacent files of one pack share ranged GETs.
  EXPECT_LT(st.store_gets * 4, kFiles) << st.store_gets << " GETs for " << kFiles << " files";
  EXPECT_GT(seq->window(), 128u << 10) << "the window grows while files are opened in order";
  EXPECT_TRUE(log_.Errors().empty());
}

// Foreign files (what follows the sequence in a walk, opened in other
// Sequences): fetched within the window, never counted as files fetched
// ahead, opened or wasted, whether an own open passes them or the
// sequence ends with them unopened.
TEST_F(ContentReaderAheadTest, ForeignFilesAreFetchedButNeverCountedAsWasted) {
  constexpr size_t kOwn = 8;
  ContentReader reader(*repo_, nullptr, {});
  auto seq = reader.NewSequence();
  // The first kOwn files are the sequence's; the next 6 are foreign, 4 at
  // the position of the 4th own file (as a subdirectory's), 2 after the
  // last own one.
  auto upcoming = [&](uint64_t from, const ContentReader::UpcomingNodeFn& fn) {
    for (uint64_t p = from; p < kOwn; ++p) {
      if (!fn(p, entries_[pos_[p]], true)) return Status::OK();
      if (p == 3) {
        for (size_t k = kOwn; k < kOwn + 4; ++k) {
          if (!fn(3, entries_[pos_[k]], false)) return Status::OK();
        }
      }
    }
    for (size_t k = kOwn + 4; k < kOwn + 6 && from <= kOwn; ++k) {
      if (!fn(kOwn, entries_[pos_[k]], false)) break;
    }
    return Status::OK();
  };
  size_t foreign_blobs = 0;
  for (size_t k = kOwn; k < kOwn + 6; ++k) foreign_blobs += Blobs(k);
  for (size_t i = 0; i < kOwn; ++i) {
    auto f = reader.Open(entries_[pos_[i]], "/d/" + names_[i]);
    reader.Opened(*seq, i, upcoming);
    std::string buf(contents_[i].size(), '\0');
    auto got = reader.Read(*f, 0, std::span(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(buf, contents_[i]);
  }
  seq.reset();  // the 2 foreign files after the last own one were never opened here
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(st.prefetch_files, kOwn - 1);
  EXPECT_EQ(st.prefetch_wasted, 0u);
  EXPECT_GE(st.prefetch_blobs, foreign_blobs);  // and the own files' after the first
  // The foreign files are in RAM (once the fetches ran): reading them
  // costs no GET.
  uint64_t gets = st.store_gets;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (reader.stats().store_gets == gets) break;
    gets = reader.stats().store_gets;
  }
  for (size_t k = kOwn; k < kOwn + 6; ++k) {
    EXPECT_EQ(OpenAndRead(reader, nullptr, k), contents_[k]);
    EXPECT_EQ(reader.stats().store_gets, gets) << "foreign file " << k << " was not read ahead";
  }
}

TEST_F(ContentReaderAheadTest, NoGapReadingReadsOnlyTheWantedBlobs) {
  // Every second file: the GETs must not read the skipped files' blobs
  // between them (max_prefetch_gap_bytes = 0, as for a local repository).
  ContentReaderOptions opts;
  opts.max_prefetch_gap_bytes = 0;
  ContentReader reader(*repo_, nullptr, opts);
  auto seq = reader.NewSequence();
  std::vector<Node> half;
  for (size_t i = 0; i < kFiles; i += 2) half.push_back(entries_[pos_[i]]);
  auto upcoming = [&](uint64_t from, const ContentReader::UpcomingNodeFn& fn) {
    for (uint64_t p = from; p < half.size(); ++p) {
      if (!fn(p, half[p], true)) break;
    }
    return Status::OK();
  };
  uint64_t stored = 0;
  for (size_t k = 0; k < half.size(); ++k) {
    auto f = reader.Open(half[k], "/d/" + names_[2 * k]);
    reader.Opened(*seq, k, upcoming);
    std::string buf(contents_[2 * k].size(), '\0');
    auto got =
        reader.Read(*f, 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(buf, contents_[2 * k]);
    for (const Extent& x : half[k].content) stored += repo_->FindBlob(x.blob)->length;
  }
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(st.prefetch_hits + Blobs(0), st.store_blobs) << "all but the first file's";
  EXPECT_EQ(st.store_bytes, stored) << "no byte of a skipped file was read";
}

TEST_F(ContentReaderAheadTest, WindowIsBoundedByTheRamCache) {
  ContentReaderOptions opts;
  opts.memory_cache_bytes = 1 << 20;  // caps the window at 128 KiB
  ContentReader reader(*repo_, nullptr, opts);
  auto seq = reader.NewSequence();
  for (size_t i = 0; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, seq.get(), i), contents_[i]) << names_[i];
    EXPECT_LE(seq->window(), 128u << 10);
    EXPECT_LE(reader.stats().ram_bytes, opts.memory_cache_bytes);
  }
  EXPECT_GT(reader.stats().prefetch_hits, 0u);
}

TEST_F(ContentReaderAheadTest, OffWhenMaxPrefetchBytesIsZero) {
  ContentReaderOptions opts;
  opts.max_prefetch_bytes = 0;
  ContentReader reader(*repo_, nullptr, opts);
  auto seq = reader.NewSequence();
  for (size_t i = 0; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, seq.get(), i), contents_[i]) << names_[i];
  }
  EXPECT_EQ(reader.stats().prefetch_blobs, 0u);
  EXPECT_EQ(seq->window(), 0u);
}

TEST_F(ContentReaderAheadTest, RandomOpensStopItAndNewSequencesDoNotPay) {
  ContentReader reader(*repo_, nullptr, {});
  std::vector<size_t> order(kFiles);
  for (size_t i = 0; i < kFiles; ++i) order[i] = i;
  std::mt19937_64 rng(11);
  std::shuffle(order.begin(), order.end(), rng);
  // Start high, then go backwards: the first open's window is wasted.
  std::swap(order[0], *std::find(order.begin(), order.end(), kFiles / 2));
  std::swap(order[1], *std::find(order.begin(), order.end(), 3));
  auto seq = reader.NewSequence();
  for (size_t i : order) ASSERT_EQ(OpenAndRead(reader, seq.get(), i), contents_[i]);
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(seq->window(), 0u);
  EXPECT_GT(st.prefetch_wasted, 0u);
  // At most a few small windows in all (128 KiB is ~12 of these files).
  EXPECT_LE(st.prefetch_files, 3 * 12u) << st.prefetch_files;

  // The credit is spent: the first open of another sequence (another
  // directory opened at random) reads nothing ahead.
  auto other = reader.NewSequence();
  const ContentReaderStats before = reader.stats();
  ASSERT_EQ(OpenAndRead(reader, other.get(), 10), contents_[10]);
  EXPECT_EQ(other->window(), 0u);
  EXPECT_EQ(reader.stats().prefetch_files, before.prefetch_files);
  EXPECT_EQ(reader.stats().prefetch_blobs, before.prefetch_blobs);

  // Opening in order earns it back: read-ahead resumes (every blob is in
  // RAM by now, so files are scheduled but nothing is fetched).
  for (size_t i = 11; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, other.get(), i), contents_[i]);
  }
  EXPECT_GT(reader.stats().prefetch_files, before.prefetch_files + 20);
  EXPECT_GT(other->window(), 128u << 10);
}

TEST_F(ContentReaderAheadTest, ReadsWithoutASequenceNeverReadAheadAcrossFiles) {
  ContentReader reader(*repo_, nullptr, {});
  for (size_t i = 0; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, nullptr, i), contents_[i]);
  }
  EXPECT_EQ(reader.stats().prefetch_blobs, 0u);
  EXPECT_EQ(reader.stats().prefetch_hits, 0u);
}

TEST_F(ContentReaderAheadTest, FailedPrefetchIsNotCachedAndTheReadSucceeds) {
  ContentReader reader(*repo_, nullptr, {});
  auto seq = reader.NewSequence();
  // Every GET of the background fetches started by the first open fails
  // (after retries); nothing of that may stick.
  faulty_->FailEvery(StoreOp::kGet, 1);
  reader.Opened(*seq, pos_[0], Upcoming());
  reader.FlushDiskCache();  // waits for the background fetches
  ASSERT_GT(faulty_->InjectedFailures(), 0u);
  faulty_->ClearFaults();
  EXPECT_TRUE(log_.Errors().empty()) << "a background failure is not the reader's";
  for (size_t i = 0; i < kFiles; ++i) {
    ASSERT_EQ(OpenAndRead(reader, seq.get(), i), contents_[i]) << names_[i];
  }
  EXPECT_TRUE(log_.Errors().empty());
}

TEST_F(ContentReaderAheadTest, ReadJoiningAFailingPrefetchFetchesAgainItself) {
  ContentReader reader(*repo_, nullptr, {});
  auto seq = reader.NewSequence();
  // A sequence of two files: opening the first fetches only the second's
  // blobs. That GET fails permanently, slowly enough that the second
  // file's read joins it.
  const Node& n = entries_[pos_[1]];
  auto two = [&](uint64_t from, const ContentReader::UpcomingNodeFn& fn) {
    for (uint64_t p = from; p < 2; ++p) {
      if (!fn(p, entries_[pos_[p]], true)) break;
    }
    return Status::OK();
  };
  faulty_->DelayMs(100);
  faulty_->FailNth(StoreOp::kGet, 1, Status::PermissionDenied("injected"));
  reader.Opened(*seq, 0, two);
  auto f = reader.Open(n, "/d/" + names_[1]);
  reader.Opened(*seq, 1, two);
  std::string buf(contents_[1].size(), '\0');
  auto got =
      reader.Read(*f, 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
  faulty_->ClearFaults();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(buf, contents_[1]);
  ContentReaderStats st = reader.stats();
  EXPECT_EQ(st.prefetch_blobs, Blobs(1));
  EXPECT_GE(st.background_retries, 1u) << "the read fetched the failed blobs again itself";
  EXPECT_EQ(faulty_->InjectedFailures(), 1u);
  EXPECT_TRUE(log_.Errors().empty());
}

TEST_F(ContentReaderAheadTest, CorruptFileFailsOnlyItsOwnReadWithOneLogLine) {
  const size_t bad = 5;
  const Extent& x = entries_[pos_[bad]].content[0];
  BlobLocation loc = *repo_->FindBlob(x.blob);
  ASSERT_TRUE(
      mem_.MutateRaw(PackKey(loc.pack), [&](Bytes& b) { b[loc.offset + loc.length / 2] ^= 1; }));
  ContentReader reader(*repo_, nullptr, {});
  auto seq = reader.NewSequence();
  for (size_t i = 0; i < kFiles; ++i) {
    std::string got = OpenAndRead(reader, seq.get(), i);
    if (i == bad) {
      EXPECT_EQ(got.rfind("ERR: /d/" + names_[bad], 0), 0u) << got.substr(0, 200);
      EXPECT_NE(got.find(x.blob.Short()), std::string::npos) << got;
      EXPECT_EQ(log_.Errors().size(), 1u) << "logged by the read, not by the prefetch";
    } else {
      ASSERT_EQ(got, contents_[i]) << names_[i];
    }
  }
  EXPECT_EQ(log_.Errors().size(), 1u);
}

TEST_F(ContentReaderAheadTest, DestroyedWhilePrefetchIsRunningWaitsForItsFetches) {
  auto reader = std::make_unique<ContentReader>(*repo_, nullptr, ContentReaderOptions{});
  auto seq = reader->NewSequence();
  gate_->Hold();
  reader->Opened(*seq, pos_[0], Upcoming());
  gate_->WaitStarted(1);  // a prefetch GET is running now, held in the store
  const ContentReaderStats st = reader->stats();
  ASSERT_GT(st.prefetch_files, 0u);
  seq.reset();
  EXPECT_EQ(reader->stats().prefetch_wasted, st.prefetch_files)
      << "files fetched ahead and never opened are wasted, counted while the reader lives";

  std::atomic<bool> returned{false};
  std::thread destroy([&] {
    reader.reset();
    gate_->MarkDestroyed();
    returned = true;
  });
  // A destructor that did not wait would return at once; this one must not
  // return before the held GET does. (A slow machine can only make this
  // check miss a bug, never fail a correct destructor.)
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load()) << "the reader was destroyed under a running fetch";
  gate_->Release();
  destroy.join();  // bounded: the fetches finish once the store answers
  EXPECT_EQ(gate_->late(), 0) << "a fetch completed into a destroyed reader";
  EXPECT_GE(gate_->started(), 1);
}

}  // namespace
}  // namespace cairn
