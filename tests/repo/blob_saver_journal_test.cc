// BlobSaver and the pack journal: a saver that dies without Flush (as a
// killed backup does) leaves packs no segment names; the next saver with the
// same cache indexes those the store holds before it dedups anything.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backend/local_dir_store.h"
#include "repo/blob_saver.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/crash_harness.h"
#include "tests/support/faulty_local_files.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/test_data.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

class WarningLog final : public Logger {
 public:
  void Write(LogLevel level, std::string_view) override {
    if (level == LogLevel::kWarning) warnings_.fetch_add(1);
  }
  bool Enabled(LogLevel) const override { return true; }
  int warnings() const { return warnings_.load(); }

 private:
  std::atomic<int> warnings_{0};
};

class BlobSaverJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-saverjournal-XXXXXX";
    root_ = mkdtemp(tmpl);
    InitOptions init;
    init.kdf.n = 1 << 10;
    init.pack_size = 1 << 20;
    auto repo = Repository::Init(std::make_unique<BorrowedStore>(faulty_), "pw", init, Options());
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
  }
  void TearDown() override {
    repo_.reset();
    fs::remove_all(root_);
  }
  OpenOptions Options() {
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    o.logger = &log_;
    o.files = &disk_;
    return o;
  }
  // Saves `blobs` data blobs of 350 KiB (3 per 1 MiB pack); returns their
  // ids. Without flush the saver is destroyed as a killed backup leaves
  // things: full packs stored, no segment naming them.
  std::vector<Id> SaveBlobs(int first, int blobs, bool flush, BlobSaverStats* stats = nullptr) {
    std::vector<Id> ids;
    BlobSaver saver(*repo_);
    auto codec = repo_->NewCodec();
    for (int i = first; i < first + blobs; ++i) {
      Bytes data = test::RandomBytes(350 << 10, static_cast<uint64_t>(i));
      Id id = repo_->crypto().BlobId(data);
      auto r = saver.Save(BlobType::kData, id, data, *codec);
      EXPECT_TRUE(r && *r);
      ids.push_back(id);
    }
    if (flush) {
      EXPECT_TRUE(saver.Flush().ok());
    }
    if (stats) *stats = saver.stats();
    return ids;
  }
  BlobSaverStats StartSaver() {
    BlobSaver saver(*repo_);
    return saver.stats();
  }
  size_t Indexed(const std::vector<Id>& ids) {
    size_t n = 0;
    for (const Id& id : ids) {
      n += repo_->FindBlob(id).has_value();
    }
    return n;
  }
  std::string Journal() const { return repo_->cache().dir() + "/pack-journal.0"; }

  std::string root_;
  MemoryStore mem_;
  FaultyStore faulty_{mem_};
  FaultyLocalFiles disk_;
  WarningLog log_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(BlobSaverJournalTest, NextSaverIndexesAKilledSaversPacks) {
  // 10 blobs: 3 full packs stored, one partial never stored.
  std::vector<Id> ids = SaveBlobs(0, 10, /*flush=*/false);
  EXPECT_EQ(mem_.Keys("packs/").size(), 3u);
  EXPECT_TRUE(mem_.Keys("index/").empty());
  EXPECT_EQ(Indexed(ids), 0u);
  EXPECT_GT(fs::file_size(Journal()), PackJournal::kHeaderSize);

  BlobSaver next(*repo_);
  EXPECT_EQ(next.stats().recovered_packs, 3u);
  EXPECT_EQ(mem_.Keys("index/").size(), 1u);
  EXPECT_EQ(Indexed(ids), 9u);
  // The dedup sees them: only the blob of the unstored pack is new.
  for (size_t i = 0; i < 9; ++i) EXPECT_FALSE(next.Claim(ids[i])) << i;
  EXPECT_TRUE(next.Claim(ids[9]));
  EXPECT_EQ(fs::file_size(Journal()), PackJournal::kHeaderSize);
  EXPECT_EQ(log_.warnings(), 0);

  // A fresh cache elsewhere finds them through the stored segment.
  OpenOptions o = Options();
  o.cache_dir = root_ + "/cache2";
  auto other = Repository::Open(std::make_unique<BorrowedStore>(mem_), "pw", o);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->SyncIndex().ok());
  EXPECT_TRUE((*other)->FindBlob(ids[0]).has_value());
}

TEST_F(BlobSaverJournalTest, CompletedSaverLeavesAnEmptyJournal) {
  std::vector<Id> ids = SaveBlobs(0, 10, /*flush=*/true);
  EXPECT_EQ(Indexed(ids), 10u);
  EXPECT_EQ(fs::file_size(Journal()), PackJournal::kHeaderSize);
  const size_t segments = mem_.Keys("index/").size();
  EXPECT_EQ(StartSaver().recovered_packs, 0u);
  EXPECT_EQ(mem_.Keys("index/").size(), segments);
}

TEST_F(BlobSaverJournalTest, MissingPackIsDropped) {
  std::vector<Id> ids = SaveBlobs(0, 9, /*flush=*/false);
  auto packs = mem_.Keys("packs/");
  ASSERT_EQ(packs.size(), 3u);
  ASSERT_TRUE(mem_.Delete(packs[1]).ok());  // pruned meanwhile, say
  EXPECT_EQ(StartSaver().recovered_packs, 2u);
  EXPECT_EQ(Indexed(ids), 6u);
  for (const Id& id : ids) {
    if (auto loc = repo_->FindBlob(id)) {
      EXPECT_NE(PackKey(loc->pack), packs[1]);
    }
  }
  // Dropped for good: the journal was emptied.
  EXPECT_EQ(fs::file_size(Journal()), PackJournal::kHeaderSize);
}

TEST_F(BlobSaverJournalTest, PackWhoseHeadFailsIsNotIndexed) {
  std::vector<Id> ids = SaveBlobs(0, 9, /*flush=*/false);
  faulty_.FailNth(StoreOp::kHead, 2, Status::Transient("503"));
  EXPECT_EQ(StartSaver().recovered_packs, 2u);
  EXPECT_EQ(Indexed(ids), 6u);
}

TEST_F(BlobSaverJournalTest, TornJournalTailLosesOnlyTheLastRecord) {
  std::vector<Id> ids = SaveBlobs(0, 9, /*flush=*/false);
  const auto size = fs::file_size(Journal());
  fs::resize_file(Journal(), size - 10);  // a kill in the last append
  EXPECT_EQ(StartSaver().recovered_packs, 2u);
  EXPECT_EQ(Indexed(ids), 6u);
  // The unindexed pack is still there for `cairn index rebuild`.
  EXPECT_EQ(mem_.Keys("packs/").size(), 3u);
}

TEST_F(BlobSaverJournalTest, SegmentStoredButJournalNotClearedIsNotIndexedTwice) {
  std::vector<Id> ids = SaveBlobs(0, 9, /*flush=*/false);
  const std::string saved = root_ + "/journal-copy";
  fs::copy_file(Journal(), saved);
  EXPECT_EQ(StartSaver().recovered_packs, 3u);
  EXPECT_EQ(mem_.Keys("index/").size(), 1u);
  // As if that saver died after storing its segment, before the clear.
  fs::copy_file(saved, Journal(), fs::copy_options::overwrite_existing);
  EXPECT_EQ(StartSaver().recovered_packs, 0u);
  EXPECT_EQ(mem_.Keys("index/").size(), 1u);
  EXPECT_EQ(Indexed(ids), 9u);
  EXPECT_EQ(fs::file_size(Journal()), PackJournal::kHeaderSize);
}

TEST_F(BlobSaverJournalTest, FailedSegmentKeepsTheRecordsForTheNextSaver) {
  std::vector<Id> ids = SaveBlobs(0, 9, /*flush=*/false);
  faulty_.FailNth(StoreOp::kPut, 1, Status::Transient("503"));
  EXPECT_EQ(StartSaver().recovered_packs, 0u);
  EXPECT_EQ(log_.warnings(), 1);
  EXPECT_EQ(Indexed(ids), 0u);
  EXPECT_EQ(StartSaver().recovered_packs, 3u);
  EXPECT_EQ(Indexed(ids), 9u);
}

TEST_F(BlobSaverJournalTest, JournalDiskFailuresOnlyWarn) {
  disk_.FailNth(FileOp::kSync, 2, EIO);  // the first pack's append
  BlobSaverStats st;
  std::vector<Id> ids = SaveBlobs(0, 10, /*flush=*/true, &st);
  EXPECT_EQ(st.packs, 4u);
  EXPECT_EQ(Indexed(ids), 10u);
  EXPECT_EQ(log_.warnings(), 1);
}

TEST_F(BlobSaverJournalTest, ConcurrentSaversDoNotTakeEachOthersPacks) {
  auto live = std::make_unique<BlobSaver>(*repo_);
  std::vector<Id> killed = SaveBlobs(100, 6, /*flush=*/false);  // another slot
  auto codec = repo_->NewCodec();
  for (int i = 0; i < 6; ++i) {
    Bytes data = test::RandomBytes(350 << 10, static_cast<uint64_t>(i));
    ASSERT_TRUE(live->Save(BlobType::kData, repo_->crypto().BlobId(data), data, *codec));
  }
  // A third saver reads the dead one's slot, not the live one's.
  EXPECT_EQ(StartSaver().recovered_packs, 2u);
  EXPECT_EQ(Indexed(killed), 6u);
  ASSERT_TRUE(live->Flush().ok());
  EXPECT_EQ(live->stats().recovered_packs, 0u);
}

// Killed before each local-file operation (the journal's) of a saver
// storing packs in a real directory: the next saver leaves no stored pack
// unindexed, since every pack is journaled before its Put begins.
TEST(BlobSaverJournalCrashTest, KilledAnywhereEveryStoredPackIsIndexedNext) {
  char tmpl[] = "/tmp/cairn-saverkill-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  InitOptions init;
  init.kdf.n = 1 << 10;
  init.pack_size = 1 << 20;
  auto open = [&](LocalFiles* files) {
    OpenOptions o;
    o.cache_dir = root + "/cache";
    o.files = files;
    return Repository::Open(std::make_unique<LocalDirStore>(root + "/repo"), "pw", o);
  };
  {
    auto r = Repository::Init(std::make_unique<LocalDirStore>(root + "/repo"), "pw", init,
                              OpenOptions{root + "/cache", nullptr, nullptr});
    ASSERT_TRUE(r) << r.error().message();
  }
  for (uint64_t n = 1;; ++n) {
    ChildEnd end = RunKilledAtOp(n, [&](LocalFiles& files) {
      auto repo = open(&files);
      if (!repo) return 2;
      BlobSaverOptions so;
      so.upload_threads = 1;
      BlobSaver saver(**repo, so);
      auto codec = (*repo)->NewCodec();
      for (int i = 0; i < 8; ++i) {
        Bytes data = test::RandomBytes(350 << 10, n * 100 + static_cast<uint64_t>(i));
        if (!saver.Save(BlobType::kData, (*repo)->crypto().BlobId(data), data, *codec)) return 3;
      }
      return saver.Flush().ok() ? 0 : 4;
    });
    ASSERT_TRUE(end.killed || end.finished()) << "n=" << n << ": " << end.Describe();
    auto repo = open(nullptr);
    ASSERT_TRUE(repo);
    ASSERT_TRUE((*repo)->SyncIndex().ok());
    { BlobSaver next(**repo); }
    size_t packs = 0;
    fs::create_directories(root + "/repo/packs");  // none stored yet
    for (const auto& e : fs::recursive_directory_iterator(root + "/repo/packs")) {
      if (!e.is_regular_file() || e.path().filename().string().starts_with(".tmp")) continue;
      ++packs;
      auto id = Id::FromHex(e.path().filename().string());
      ASSERT_TRUE(id);
      EXPECT_TRUE((*repo)->cache().PackSize(*id).has_value()) << "n=" << n << " " << id->Hex();
    }
    if (end.finished()) {
      EXPECT_GT(n, 8u);
      EXPECT_GT(packs, 8u);
      break;
    }
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace cairn
