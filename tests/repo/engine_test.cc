// Repository and engine tests on MemoryStore / FaultyStore: open and init
// errors, backup -> restore round trips, incremental behaviour, store faults
// during backup, corruption found by loads and by check, index rebuild.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backend/open_store.h"
#include "backend/retrying_store.h"
#include "repo/backup.h"
#include "repo/check.h"
#include "repo/index.h"
#include "repo/index_rebuild.h"
#include "repo/local_source.h"
#include "repo/pack.h"
#include "repo/restore.h"
#include "repo/tree_walk.h"
#include "tests/support/faulty_store.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/tree_compare.h"

namespace cairn {
namespace {

using Borrowed = BorrowedStore;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-engine-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_ + "/sub");
    Write("a.txt", "alpha\n");
    std::string big(3 << 20, '\0');
    uint64_t x = 88172645463325252ull;  // xorshift: incompressible, deterministic
    for (auto& c : big) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    Write("sub/b.bin", big);
    Write("sub/c", "");
    for (int i = 0; i < 50; ++i) Write("sub/small" + std::to_string(i), std::to_string(i * 7919));
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary) << data;
  }
  OpenOptions Open() {
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    return o;
  }
  InitOptions Init() {
    InitOptions i;
    i.kdf.n = 1 << 10;
    return i;
  }
  std::unique_ptr<Repository> MakeRepo(ObjectStore& store) {
    auto r = Repository::Init(std::make_unique<Borrowed>(store), "pw", Init(), Open());
    EXPECT_TRUE(r) << r.error().message();
    return std::move(*r);
  }
  Result<BackupResult> Backup(Repository& repo) {
    BackupOptions o;
    o.paths = {src_};
    return RunBackup(repo, o, nullptr, nullptr, nullptr);
  }
  std::vector<std::string> RestoreAndCompare(Repository& repo, const Snapshot& s,
                                             const std::string& name) {
    RestoreOptions ro;
    ro.target = root_ + "/" + name;
    auto st = RunRestore(repo, s, ro, nullptr, nullptr, nullptr);
    if (!st) return {"restore failed: " + st.error().message()};
    return testing::CompareTrees(src_, ro.target + src_);
  }
  std::string root_, src_;
};

TEST_F(EngineTest, InitAndOpenErrors) {
  MemoryStore store;
  auto empty = Repository::Open(std::make_unique<Borrowed>(store), "pw", Open());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kNotARepository);
  EXPECT_NE(empty.error().message().find("cairn init"), std::string::npos);

  MakeRepo(store);
  auto again = Repository::Init(std::make_unique<Borrowed>(store), "pw", Init(), Open());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);

  auto wrong = Repository::Open(std::make_unique<Borrowed>(store), "nope", Open());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kWrongPassword);
  EXPECT_TRUE(Repository::Open(std::make_unique<Borrowed>(store), "pw", Open()));

  // A newer format is refused with the fix in the message.
  auto config = store.Get("config");
  ASSERT_TRUE(config);
  std::string text = ToString(*config);
  text.replace(text.find("\"format\": 1"), 11, "\"format\": 9");
  ASSERT_TRUE(store.Put("config", AsBytes(text)).ok());
  auto newer = Repository::Open(std::make_unique<Borrowed>(store), "pw", Open());
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(newer.error().message().find("upgrade cairn"), std::string::npos);
}

TEST_F(EngineTest, SecondPasswordOpensTheSameKeys) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  ScryptParams kdf;
  kdf.n = 1 << 10;
  ASSERT_TRUE(repo->AddKey("second", kdf));
  auto other = Repository::Open(std::make_unique<Borrowed>(store), "second", Open());
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)->crypto().keys().mac, repo->crypto().keys().mac);
}

TEST_F(EngineTest, BackupRestoreAndIncremental) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  auto first = Backup(*repo);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->snapshot.stats.files, 53u);
  EXPECT_EQ(first->snapshot.stats.files_new, 53u);
  for (const auto& d : RestoreAndCompare(*repo, first->snapshot, "r1")) ADD_FAILURE() << d;

  // Nothing changed: nothing is read and the root tree is the same.
  auto second = Backup(*repo);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->snapshot.stats.bytes_read, 0u);
  EXPECT_EQ(second->snapshot.stats.files_unmodified, 53u);
  // The backed-up directory keeps its tree id (the root's may differ: it
  // holds the metadata of /tmp, which other processes change).
  auto codec = repo->NewCodec();
  auto dir1 = ResolvePath(*repo, *codec, first->snapshot, src_);
  auto dir2 = ResolvePath(*repo, *codec, second->snapshot, src_);
  ASSERT_TRUE(dir1 && dir2);
  EXPECT_EQ(dir1->subtree, dir2->subtree);
  EXPECT_EQ(second->snapshot.parent, first->snapshot.id);
  EXPECT_EQ(second->snapshot.stats.data_blobs_added, 0u);

  // One file changes: only it is read.
  Write("sub/small3", "changed");
  auto third = Backup(*repo);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->snapshot.stats.files_changed, 1u);
  EXPECT_EQ(third->snapshot.stats.bytes_read, 7u);
  auto dir3 = ResolvePath(*repo, *codec, third->snapshot, src_);
  ASSERT_TRUE(dir3);
  EXPECT_NE(dir3->subtree, dir1->subtree);
  for (const auto& d : RestoreAndCompare(*repo, third->snapshot, "r3")) ADD_FAILURE() << d;

  auto snaps = repo->ListSnapshots();
  ASSERT_TRUE(snaps);
  EXPECT_EQ(snaps->size(), 3u);
  auto latest = repo->FindSnapshot("latest");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, third->snapshot.id);
  auto by_prefix = repo->FindSnapshot(first->snapshot.id.Hex().substr(0, 8));
  ASSERT_TRUE(by_prefix);
  EXPECT_EQ(by_prefix->id, first->snapshot.id);
}

TEST_F(EngineTest, TransientStoreFaultsAreRetriedAndHarmless) {
  MemoryStore mem;
  FaultyStore faulty(mem);
  StoreOptions so;
  so.retry_base_delay_ms = 1;
  auto store = std::make_unique<RetryingStore>(std::make_unique<Borrowed>(faulty), so);
  auto repo = MakeRepo(*store);
  faulty.FailEvery(StoreOp::kPut, 3);
  faulty.FailEvery(StoreOp::kGet, 4);
  auto r = Backup(*repo);
  ASSERT_TRUE(r) << r.error().message();
  for (const auto& d : RestoreAndCompare(*repo, r->snapshot, "r")) ADD_FAILURE() << d;
  EXPECT_GT(faulty.Calls(StoreOp::kPut), 3u);
}

TEST_F(EngineTest, PermanentStoreFailureLeavesNoSnapshot) {
  MemoryStore mem;
  FaultyStore faulty(mem);
  auto repo = MakeRepo(faulty);
  faulty.NoSpaceAfter(1 << 20);  // the 3 MiB file's pack does not fit
  auto r = Backup(*repo);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNoSpace) << r.error().message();
  EXPECT_TRUE(mem.Keys("snapshots/").empty());
  faulty.NoSpaceAfter(UINT64_MAX);
  auto again = Backup(*repo);
  ASSERT_TRUE(again) << again.error().message();
  for (const auto& d : RestoreAndCompare(*repo, again->snapshot, "r")) ADD_FAILURE() << d;
}

TEST_F(EngineTest, CorruptPackIsNamedAndFoundByCheck) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  auto r = Backup(*repo);
  ASSERT_TRUE(r);
  // Corrupt the data pack holding the big file's first chunk.
  std::string pack_key;
  uint32_t offset = 0;
  Id blob;
  ASSERT_TRUE(repo->cache().ForEachBlob([&](const Id& id, const BlobLocation& l) {
    if (l.type == 0 && l.raw_length > 1000000 && pack_key.empty()) {
      pack_key = PackKey(l.pack);
      offset = l.offset + 100;
      blob = id;
    }
  }).ok());
  ASSERT_FALSE(pack_key.empty());
  auto bytes = store.Get(pack_key);
  ASSERT_TRUE(bytes);
  (*bytes)[offset] ^= 0x40;
  ASSERT_TRUE(store.Put(pack_key, *bytes).ok());

  auto codec = repo->NewCodec();
  auto load = repo->LoadBlob(BlobType::kData, blob, *codec);
  ASSERT_FALSE(load);
  EXPECT_EQ(load.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(load.error().message().find("data blob " + blob.Short()), std::string::npos);
  EXPECT_NE(load.error().message().find("in pack " + pack_key.substr(9, 8)), std::string::npos)
      << load.error().message();

  std::vector<std::string> errors;
  CheckOptions co;
  auto structure = RunCheck(*repo, co, [&](bool e, const std::string& m) {
    if (e) errors.push_back(m);
  }, nullptr);
  ASSERT_TRUE(structure);
  EXPECT_EQ(structure->errors, 0u) << "structure alone does not read data";
  co.read_data = true;
  auto full = RunCheck(*repo, co, [&](bool e, const std::string& m) {
    if (e) errors.push_back(m);
  }, nullptr);
  ASSERT_TRUE(full);
  EXPECT_GE(full->errors, 2u);  // pack checksum and the blob
  bool named = false;
  for (const auto& m : errors) named |= m.find(blob.Hex()) != std::string::npos;
  EXPECT_TRUE(named);

  // Restore: the damaged file fails, the others are restored.
  struct Failures : RestoreObserver {
    std::vector<std::string> paths;
    void Failed(const std::string& p, const Status&) override { paths.push_back(p); }
  } failures;
  RestoreOptions ro;
  ro.target = root_ + "/r";
  auto st = RunRestore(*repo, r->snapshot, ro, nullptr, &failures, nullptr);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->corruption);
  ASSERT_EQ(failures.paths.size(), 1u);
  EXPECT_EQ(failures.paths[0], ro.target + src_ + "/sub/b.bin");
  EXPECT_FALSE(std::filesystem::exists(ro.target + src_ + "/sub/b.bin"));
  EXPECT_TRUE(std::filesystem::exists(ro.target + src_ + "/sub/small9"));
}

TEST_F(EngineTest, IndexRebuildFromPackHeaders) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  auto r = Backup(*repo);
  ASSERT_TRUE(r);
  for (const auto& k : store.Keys("index/")) ASSERT_TRUE(store.Delete(k).ok());
  auto reopened = Repository::Open(std::make_unique<Borrowed>(store), "pw", Open());
  ASSERT_TRUE(reopened);
  ASSERT_TRUE((*reopened)->SyncIndex().ok());
  EXPECT_EQ((*reopened)->cache().BlobCount(), 0u);
  auto rebuilt = RebuildIndex(**reopened, [](const std::string& m) { ADD_FAILURE() << m; });
  ASSERT_TRUE(rebuilt) << rebuilt.error().message();
  EXPECT_GE(rebuilt->packs, 2u);
  for (const auto& d : RestoreAndCompare(**reopened, r->snapshot, "r")) ADD_FAILURE() << d;
  CheckOptions co;
  co.read_data = true;
  auto check = RunCheck(**reopened, co, [](bool e, const std::string& m) {
    if (e) ADD_FAILURE() << m;
  }, nullptr);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->errors, 0u);
}

TEST_F(EngineTest, CancelledBackupWritesNoSnapshotAndIndexesItsPacks) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  std::atomic<bool> cancel{true};
  BackupOptions o;
  o.paths = {src_};
  auto r = RunBackup(*repo, o, nullptr, nullptr, &cancel);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_TRUE(store.Keys("snapshots/").empty());
}

// --exclude and a missing named path, through LocalSource.
TEST_F(EngineTest, LocalSourceExcludesAndMissingPaths) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  LocalSourceOptions lo;
  lo.excludes = {"small1*", src_ + "/sub/b.bin"};
  LocalSource source(lo);
  BackupOptions o;
  o.paths = {src_};
  auto r = RunBackup(*repo, source, o, nullptr, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().message();
  // 53 files less b.bin, small1 and small10..small19.
  EXPECT_EQ(r->snapshot.stats.files, 53u - 1 - 11);
  auto codec = repo->NewCodec();
  EXPECT_FALSE(ResolvePath(*repo, *codec, r->snapshot, src_ + "/sub/b.bin"));
  EXPECT_FALSE(ResolvePath(*repo, *codec, r->snapshot, src_ + "/sub/small12"));
  EXPECT_TRUE(ResolvePath(*repo, *codec, r->snapshot, src_ + "/sub/small2"));

  o.paths = {src_ + "/missing"};
  auto missing = RunBackup(*repo, source, o, nullptr, nullptr, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message().rfind("backup path " + src_ + "/missing: ", 0), 0u)
      << missing.error().message();
}

}  // namespace
// A fresh cache loads hand-made segments, one larger than a cache write
// batch with an empty pack between two full ones, and twenty small ones
// (more than SyncIndex's workers): every blob is found at its pack and
// offset. A segment that is not valid index plaintext fails as Corruption
// naming it and `cairn index rebuild`, and the other segments still load.
TEST_F(EngineTest, SyncIndexLoadsLargeAndManySegments) {
  MemoryStore store;
  auto repo = MakeRepo(store);
  auto codec = repo->NewCodec();
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto random_id = [&] {
    Id id;
    for (auto& byte : id.bytes) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      byte = static_cast<uint8_t>(x);
    }
    return id;
  };
  std::vector<IndexSegment> segs(21);
  auto add_pack = [&](IndexSegment& seg, size_t nblobs) {
    IndexPack p{random_id(), uint64_t{1} << 32, {}};
    for (size_t i = 0; i < nblobs; ++i) {
      p.blobs.push_back(PackEntry{random_id(), i % 3 ? BlobType::kData : BlobType::kTree,
                                  static_cast<uint32_t>(i * 100), 90, static_cast<uint32_t>(i)});
    }
    seg.packs.push_back(std::move(p));
  };
  add_pack(segs[0], CacheDb::kBlobsPerTxn + 500);
  add_pack(segs[0], 0);
  add_pack(segs[0], 3000);
  for (size_t s = 1; s < segs.size(); ++s) add_pack(segs[s], 50);
  for (const auto& seg : segs) {
    ASSERT_TRUE(repo->SaveObject(ObjectKind::kIndex, EncodeIndexSegment(seg), *codec));
  }
  auto bad = repo->SaveObject(ObjectKind::kIndex, AsBytes("not an index segment"), *codec);
  ASSERT_TRUE(bad);

  OpenOptions fresh;
  fresh.cache_dir = root_ + "/cache2";
  auto reopened = Repository::Open(std::make_unique<Borrowed>(store), "pw", fresh);
  ASSERT_TRUE(reopened);
  Status st = (*reopened)->SyncIndex();
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("index/" + bad->Hex()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cairn index rebuild"), std::string::npos) << st.message();
  size_t total = 0;
  for (const auto& seg : segs) {
    for (const auto& p : seg.packs) {
      EXPECT_EQ((*reopened)->cache().PackSize(p.pack), p.pack_size);
      for (const auto& b : p.blobs) {
        ++total;
        auto loc = (*reopened)->FindBlob(b.id);
        ASSERT_TRUE(loc) << b.id.Hex();
        ASSERT_EQ(*loc, (BlobLocation{p.pack, b.offset, b.length, b.raw_length,
                                      static_cast<uint8_t>(b.type)}));
      }
    }
  }
  EXPECT_EQ((*reopened)->cache().BlobCount(), total);
  EXPECT_FALSE((*reopened)->cache().HasSegment(*bad));
}

}  // namespace cairn
