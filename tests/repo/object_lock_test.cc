// Object lock and storage classes in the repository layer, on an in-memory
// store that says it can lock: the config fields (and old configs without
// them), the options each kind of object is written with, and that init and
// backup write every object with its own lock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "backend/forwarding_store.h"
#include "common/clock.h"
#include "repo/backup.h"
#include "repo/config.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "tests/support/memory_store.h"

namespace cairn {
namespace {

constexpr int64_t kS = 1000000000;

TEST(ObjectLockConfigTest, FieldsRoundTripAndOldConfigsReadAsNoLock) {
  RepoConfig c;
  c.id = std::string(64, 'a');
  const std::string plain = ToString(EncodeConfig(c));
  EXPECT_EQ(plain.find("object_lock"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("storage_class"), std::string::npos) << plain;
  auto old = DecodeConfig(EncodeConfig(c), "here");
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->lock_mode, LockMode::kNone);
  EXPECT_EQ(old->lock_retention_s, 0);
  EXPECT_EQ(old->data_storage_class, "");

  c.lock_mode = LockMode::kCompliance;
  c.lock_retention_s = 90 * 86400;
  c.data_storage_class = "GLACIER_IR";
  const std::string locked = ToString(EncodeConfig(c));
  EXPECT_NE(locked.find("\"compliance\""), std::string::npos) << locked;
  auto d = DecodeConfig(EncodeConfig(c), "here");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->lock_mode, LockMode::kCompliance);
  EXPECT_EQ(d->lock_retention_s, 90 * 86400);
  EXPECT_EQ(d->data_storage_class, "GLACIER_IR");

  RepoConfig bad = c;
  bad.lock_retention_s = 0;
  EXPECT_EQ(ValidateConfig(bad).code(), ErrorCode::kInvalidArgument);
  bad = c;
  bad.lock_mode = LockMode::kNone;
  EXPECT_EQ(ValidateConfig(bad).code(), ErrorCode::kInvalidArgument);
  bad = c;
  bad.lock_retention_s = kMaxRetentionS + 1;
  EXPECT_EQ(ValidateConfig(bad).code(), ErrorCode::kInvalidArgument);
  bad = c;
  bad.data_storage_class = "glacier; rm";
  EXPECT_EQ(ValidateConfig(bad).code(), ErrorCode::kInvalidArgument);

  std::string unknown = locked;
  unknown.replace(unknown.find("\"compliance\""), 12, "\"legal-hold\"");
  EXPECT_EQ(DecodeConfig(AsBytes(unknown), "here").error().code(), ErrorCode::kCorruption);
}

TEST(ObjectLockConfigTest, ModeNames) {
  EXPECT_EQ(ParseLockMode("governance"), LockMode::kGovernance);
  EXPECT_EQ(ParseLockMode("COMPLIANCE"), LockMode::kCompliance);
  EXPECT_FALSE(ParseLockMode("none"));
  EXPECT_FALSE(ParseLockMode(""));
  EXPECT_EQ(LockModeConfigName(LockMode::kGovernance), "governance");
  EXPECT_TRUE(IsStorageClassName("DEEP_ARCHIVE"));
  EXPECT_FALSE(IsStorageClassName("deep_archive"));
  EXPECT_FALSE(IsStorageClassName(""));
}

TEST(ObjectLockConfigTest, WriteOptionsPerKind) {
  RepoConfig c;
  const int64_t now = int64_t{1798761600} * kS + 1;  // 1 ns after a whole second
  // No lock, no class: what every write got before.
  PutOptions none = WriteOptionsFor(c, true, WriteKind::kDataPack, 0, now);
  EXPECT_EQ(none.lock_mode, LockMode::kNone);
  EXPECT_EQ(none.storage_class, "");

  c.lock_mode = LockMode::kGovernance;
  c.lock_retention_s = 86400;
  for (WriteKind k : {WriteKind::kConfig, WriteKind::kKey, WriteKind::kIndex,
                      WriteKind::kSnapshot, WriteKind::kTreePack, WriteKind::kDataPack}) {
    PutOptions o = WriteOptionsFor(c, true, k, 3600, now);
    EXPECT_EQ(o.lock_mode, LockMode::kGovernance);
    // now + 1 h, rounded UP to the second.
    EXPECT_EQ(o.retain_until_ns, int64_t{1798761600 + 3600 + 1} * kS);
    EXPECT_EQ(o.storage_class, "");
  }
  // A store that cannot lock gets no lock headers.
  EXPECT_EQ(WriteOptionsFor(c, false, WriteKind::kConfig, 3600, now).lock_mode, LockMode::kNone);

  c.data_storage_class = "DEEP_ARCHIVE";
  EXPECT_EQ(WriteOptionsFor(c, true, WriteKind::kDataPack, 1, now).storage_class, "DEEP_ARCHIVE");
  for (WriteKind k : {WriteKind::kConfig, WriteKind::kKey, WriteKind::kIndex,
                      WriteKind::kSnapshot, WriteKind::kTreePack}) {
    EXPECT_EQ(WriteOptionsFor(c, true, k, 1, now).storage_class, "STANDARD");
  }
}

// A MemoryStore that says it can lock and keep storage classes, and
// records the options each key was last written with.
class LockingStore final : public ForwardingStore {
 public:
  explicit LockingStore(ObjectStore& target, bool enabled = true)
      : ForwardingStore(target), enabled_(enabled) {}
  StoreTraits Traits() const override {
    StoreTraits t;
    t.object_lock = t.storage_classes = true;
    return t;
  }
  Result<ObjectLockConfig> GetObjectLockConfig() override {
    ObjectLockConfig c;
    c.enabled = enabled_;
    return c;
  }
  std::map<std::string, PutOptions> puts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return puts_;
  }

 protected:
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      puts_[std::string(key)] = opts;
    }
    return ForwardingStore::DoPut(key, data, opts);
  }

 private:
  const bool enabled_;
  mutable std::mutex mu_;
  std::map<std::string, PutOptions> puts_;  // GUARDED_BY(mu_)
};

class RepoObjectLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-lock-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_ + "/sub");
    std::ofstream(src_ + "/a.txt") << "alpha\n";
    std::string big(2 << 20, '\0');
    uint64_t x = 88172645463325252ull;
    for (auto& ch : big) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      ch = static_cast<char>(x);
    }
    std::ofstream(src_ + "/sub/b.bin", std::ios::binary) << big;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  OpenOptions Open() {
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    return o;
  }
  InitOptions LockedInit() {
    InitOptions i;
    i.kdf.n = 1 << 10;
    i.lock_mode = LockMode::kCompliance;
    i.lock_retention_s = 7 * 86400;
    i.data_storage_class = "GLACIER";
    return i;
  }
  std::string root_, src_;
};

TEST_F(RepoObjectLockTest, InitAndBackupLockEveryObjectThemselves) {
  MemoryStore mem;
  auto store = std::make_unique<LockingStore>(mem);
  LockingStore* locking = store.get();
  const int64_t before = NowNs();
  auto repo = Repository::Init(std::move(store), "pw", LockedInit(), Open());
  ASSERT_TRUE(repo) << repo.error().message();
  EXPECT_TRUE((*repo)->locks_objects());
  EXPECT_EQ((*repo)->retention_s(), 7 * 86400);

  // The config and the key file carry the lock (kopia#3253).
  auto puts = locking->puts();
  ASSERT_EQ(puts.count("config"), 1u);
  EXPECT_EQ(puts["config"].lock_mode, LockMode::kCompliance);
  EXPECT_GE(puts["config"].retain_until_ns, before + 7 * 86400 * kS);
  EXPECT_EQ(puts["config"].storage_class, "STANDARD");

  // A longer period for this snapshot.
  ASSERT_TRUE((*repo)->OverrideRetention(30 * 86400).ok());
  BackupOptions o;
  o.paths = {src_};
  auto r = RunBackup(**repo, o, nullptr, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().message();
  const Snapshot& snap = r->snapshot;
  const int64_t snap_until = (*repo)->SnapshotRetainUntil(snap.time_ns);
  EXPECT_GE(snap_until, snap.time_ns + 30 * 86400 * kS);
  EXPECT_EQ(snap_until % kS, 0);

  puts = locking->puts();
  int data_packs = 0, tree_packs = 0, index = 0, snapshots = 0;
  const auto tree_loc = (*repo)->FindBlob(snap.tree);
  ASSERT_TRUE(tree_loc);
  for (const auto& [key, opts] : puts) {
    EXPECT_EQ(opts.lock_mode, LockMode::kCompliance) << key;
    if (key == "config" || key.starts_with("keys/")) continue;
    // Everything the snapshot needs is locked at least as long as it.
    EXPECT_GE(opts.retain_until_ns, snap_until) << key;
    if (key.starts_with("packs/")) {
      if (opts.storage_class == "GLACIER") ++data_packs;
      if (opts.storage_class == "STANDARD") ++tree_packs;
      if (key == PackKey(tree_loc->pack)) {
        EXPECT_EQ(opts.storage_class, "STANDARD");
      }
    } else {
      EXPECT_EQ(opts.storage_class, "STANDARD") << key;
      index += key.starts_with("index/");
      snapshots += key.starts_with("snapshots/");
    }
  }
  EXPECT_GE(data_packs, 1);
  EXPECT_GE(tree_packs, 1);
  EXPECT_GE(index, 1);
  EXPECT_EQ(snapshots, 1);

  // The stored snapshot records its retain-until.
  auto listed = (*repo)->ListSnapshots();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().retain_until_ns, snap_until);

  // Reopened, the config still asks for the lock.
  repo->reset();
  auto again = Repository::Open(std::make_unique<LockingStore>(mem), "pw", Open());
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE((*again)->locks_objects());
  EXPECT_EQ((*again)->retention_s(), 7 * 86400);
  EXPECT_EQ((*again)->WriteOptions(WriteKind::kIndex).lock_mode, LockMode::kCompliance);
}

TEST_F(RepoObjectLockTest, InitRefusesAStoreWithoutObjectLockAndWritesNothing) {
  MemoryStore plain;
  auto r = Repository::Init(std::make_unique<ForwardingStore>(plain), "pw", LockedInit(), Open());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("Object Lock"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("Fix:"), std::string::npos) << r.error().message();
  MemoryStore unlocked_bucket;
  auto u = Repository::Init(std::make_unique<LockingStore>(unlocked_bucket, false), "pw",
                            LockedInit(), Open());
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code(), ErrorCode::kUnsupported);
  for (MemoryStore* m : {&plain, &unlocked_bucket}) {
    int objects = 0;
    ASSERT_TRUE(m->List("", [&](const ObjectInfo&) {
                   ++objects;
                   return Status::OK();
                 }).ok());
    EXPECT_EQ(objects, 0);
  }
}

TEST_F(RepoObjectLockTest, RetentionOverrideNeedsALockedRepository) {
  MemoryStore mem;
  InitOptions i;
  i.kdf.n = 1 << 10;
  auto repo = Repository::Init(std::make_unique<LockingStore>(mem), "pw", i, Open());
  ASSERT_TRUE(repo) << repo.error().message();
  EXPECT_FALSE((*repo)->locks_objects());
  Status s = (*repo)->OverrideRetention(86400);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--object-lock"), std::string::npos) << s.message();
  EXPECT_EQ((*repo)->SnapshotRetainUntil(NowNs()), 0);
  EXPECT_EQ((*repo)->WriteOptions(WriteKind::kDataPack).lock_mode, LockMode::kNone);
  EXPECT_EQ((*repo)->WriteOptions(WriteKind::kDataPack).storage_class, "");
}

}  // namespace
}  // namespace cairn
