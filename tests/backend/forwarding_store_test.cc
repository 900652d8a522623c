// Every store wrapper passes the calls it does not change (retention,
// restore, traits, Describe) through to the store it wraps: a recording fake
// underneath each one shows what arrived. ReadOnlyStore passes the reads and
// refuses the writes before they arrive.
#include "backend/forwarding_store.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "backend/rate_limited_store.h"
#include "backend/read_only_store.h"
#include "backend/retrying_store.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

// Records every call and answers with values no default would give.
class RecordingStore final : public ObjectStore {
 public:
  static StoreTraits Distinct() {
    StoreTraits t;
    t.latency = StoreTraits::Latency::kRemote;
    t.connections = 7;
    t.object_lock = true;
    t.storage_classes = true;
    t.archive_restore = true;
    return t;
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    Record("Head " + std::string(key));
    return ObjectInfo{std::string(key), 42};
  }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    Record("List " + std::string(prefix));
    return fn(ObjectInfo{std::string(prefix) + "x", 1});
  }
  Status Delete(std::string_view key) override {
    Record("Delete " + std::string(key));
    return Status::OK();
  }
  std::string Describe() const override { return "recording"; }
  StoreTraits Traits() const override { return Distinct(); }
  Status SetRetention(std::string_view key, LockMode mode, int64_t until) override {
    Record("SetRetention " + std::string(key) + " " + std::to_string(static_cast<int>(mode)) +
           " " + std::to_string(until));
    return Status::OK();
  }
  Result<int64_t> GetRetention(std::string_view key) override {
    Record("GetRetention " + std::string(key));
    return 1234;
  }
  Result<ObjectLockConfig> GetObjectLockConfig() override {
    Record("GetObjectLockConfig");
    return ObjectLockConfig{true, LockMode::kCompliance, 86400};
  }
  Status RequestRestore(std::string_view key, int days) override {
    Record("RequestRestore " + std::string(key) + " " + std::to_string(days));
    return Status::OK();
  }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 protected:
  Result<Bytes> DoGet(std::string_view key, uint64_t offset, uint64_t length) override {
    Record("Get " + std::string(key) + " " + std::to_string(offset) + " " +
           std::to_string(length));
    return ToBytes("data");
  }
  Status DoPut(std::string_view key, ByteView data, const PutOptions& opts) override {
    std::string lock;
    if (opts.lock_mode != LockMode::kNone) {
      lock = " lock " + std::to_string(static_cast<int>(opts.lock_mode)) + " " +
             std::to_string(opts.retain_until_ns);
    }
    Record("Put " + std::string(key) + " " + std::to_string(data.size()) + " " +
           opts.storage_class + lock);
    return Status::OK();
  }

 private:
  void Record(std::string call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(call));
  }

  mutable std::mutex mu_;
  std::vector<std::string> calls_;  // GUARDED_BY(mu_)
};

struct Wrapper {
  std::string name;
  // Wraps the recording store, borrowed; it outlives the wrapper.
  std::function<std::unique_ptr<ObjectStore>(RecordingStore&)> wrap;
  bool read_only = false;  // writes are refused instead of passed on
};

std::ostream& operator<<(std::ostream& os, const Wrapper& w) { return os << w.name; }

std::unique_ptr<ObjectStore> Borrow(RecordingStore& r) {
  return std::make_unique<ForwardingStore>(r);
}

const Wrapper kWrappers[] = {
    {"forwarding_borrowed", [](RecordingStore& r) { return Borrow(r); }},
    {"forwarding_owning",
     [](RecordingStore& r) { return std::make_unique<ForwardingStore>(Borrow(r)); }},
    {"borrowed", [](RecordingStore& r) { return std::make_unique<BorrowedStore>(r); }},
    {"dir_owning",
     [](RecordingStore& r) {
       return std::make_unique<DirOwningStore>(Borrow(r), MakeTempDir("fwd"));
     }},
    {"retrying",
     [](RecordingStore& r) {
       return std::make_unique<RetryingStore>(Borrow(r), RetryPolicy{}, [](int64_t) {});
     }},
    {"rate_limited",
     [](RecordingStore& r) {
       return std::make_unique<RateLimitedStore>(Borrow(r), 1 << 20, 1 << 20,
                                                 TokenBucket::NowFn{}, [](int64_t) {});
     }},
    {"faulty", [](RecordingStore& r) { return std::make_unique<FaultyStore>(r); }},
    {"read_only", [](RecordingStore& r) { return std::make_unique<ReadOnlyStore>(Borrow(r)); },
     true},
};

class WrapperTest : public ::testing::TestWithParam<Wrapper> {
 protected:
  void SetUp() override { store_ = GetParam().wrap(rec_); }
  ObjectStore& store() { return *store_; }

  RecordingStore rec_;
  std::unique_ptr<ObjectStore> store_;
};

INSTANTIATE_TEST_SUITE_P(All, WrapperTest, ::testing::ValuesIn(kWrappers),
                         [](const ::testing::TestParamInfo<Wrapper>& i) { return i.param.name; });

TEST_P(WrapperTest, TraitsAreTheWrappedStores) {
  const StoreTraits t = store().Traits(), want = RecordingStore::Distinct();
  EXPECT_EQ(t.latency, want.latency);
  EXPECT_TRUE(t.remote());
  EXPECT_EQ(t.connections, want.connections);
  EXPECT_EQ(t.object_lock, want.object_lock);
  EXPECT_EQ(t.storage_classes, want.storage_classes);
  EXPECT_EQ(t.archive_restore, want.archive_restore);
}

TEST_P(WrapperTest, DescribeNamesTheWrappedStore) {
  EXPECT_NE(store().Describe().find("recording"), std::string::npos) << store().Describe();
}

TEST_P(WrapperTest, GetRetentionReachesTheWrappedStore) {
  auto r = store().GetRetention("packs/ab/ab12");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 1234);
  EXPECT_EQ(rec_.calls(), std::vector<std::string>{"GetRetention packs/ab/ab12"});
}

TEST_P(WrapperTest, SetRetentionAndRestoreReachTheWrappedStoreUnlessReadOnly) {
  Status set = store().SetRetention("packs/ab/ab12", LockMode::kCompliance, 99);
  Status restore = store().RequestRestore("packs/cd/cd34", 3);
  if (GetParam().read_only) {
    EXPECT_EQ(set.code(), ErrorCode::kReadOnly) << set.message();
    EXPECT_EQ(restore.code(), ErrorCode::kReadOnly) << restore.message();
    EXPECT_TRUE(rec_.calls().empty());
    return;
  }
  EXPECT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(restore.ok()) << restore.message();
  EXPECT_EQ(rec_.calls(), (std::vector<std::string>{"SetRetention packs/ab/ab12 2 99",
                                                    "RequestRestore packs/cd/cd34 3"}));
}

TEST_P(WrapperTest, ObjectLockConfigAndLockedPutsReachTheWrappedStore) {
  auto c = store().GetObjectLockConfig();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->default_mode, LockMode::kCompliance);
  EXPECT_EQ(c->default_retention_s, 86400);
  PutOptions locked;
  locked.lock_mode = LockMode::kGovernance;
  locked.retain_until_ns = 77;
  Status put = store().Put("snapshots/s", AsBytes("ab"), locked);
  std::vector<std::string> want = {"GetObjectLockConfig"};
  if (GetParam().read_only) {
    EXPECT_EQ(put.code(), ErrorCode::kReadOnly);
  } else {
    EXPECT_TRUE(put.ok()) << put.message();
    want.push_back("Put snapshots/s 2  lock 1 77");
  }
  EXPECT_EQ(rec_.calls(), want);
}

TEST_P(WrapperTest, ObjectCallsReachTheWrappedStore) {
  auto g = store().Get("index/i", 5, 10);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(ToString(*g), "data");
  EXPECT_EQ(store().Head("index/i")->size, 42u);
  EXPECT_TRUE(store().List("keys/", [](const ObjectInfo& i) {
                       return i.key == "keys/x" ? Status::OK() : Status::Corruption(i.key);
                     }).ok());
  PutOptions cold;
  cold.storage_class = "GLACIER";
  Status put = store().Put("packs/ab/new", AsBytes("abc"), cold);
  Status del = store().Delete("locks/l");
  std::vector<std::string> want = {"Get index/i 5 10", "Head index/i", "List keys/"};
  if (GetParam().read_only) {
    EXPECT_EQ(put.code(), ErrorCode::kReadOnly);
    EXPECT_EQ(del.code(), ErrorCode::kReadOnly);
  } else {
    EXPECT_TRUE(put.ok()) << put.message();
    EXPECT_TRUE(del.ok()) << del.message();
    want.push_back("Put packs/ab/new 3 GLACIER");
    want.push_back("Delete locks/l");
  }
  EXPECT_EQ(rec_.calls(), want);
}

// The stores that are not wrappers declare their own traits.
TEST(StoreTraitsTest, LocalStoresHaveNoLatencyToHideAndNoS3Features) {
  MemoryStore mem;
  const StoreTraits t = mem.Traits();
  EXPECT_FALSE(t.remote());
  EXPECT_EQ(t.connections, 0u);
  EXPECT_FALSE(t.object_lock || t.storage_classes || t.archive_restore);
  auto lock = mem.GetObjectLockConfig();
  ASSERT_TRUE(lock);
  EXPECT_FALSE(lock->enabled);
}

}  // namespace
}  // namespace cairn
