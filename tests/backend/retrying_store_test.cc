#include "backend/retrying_store.h"

#include <gtest/gtest.h>

#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"

namespace cairn {
namespace {

// Owns nothing: lets RetryingStore wrap a FaultyStore the test keeps.
class Borrowed final : public ObjectStore {
 public:
  explicit Borrowed(ObjectStore& s) : s_(s) {}
  Result<Bytes> Get(std::string_view k, uint64_t o, uint64_t l) override { return s_.Get(k, o, l); }
  Result<ObjectInfo> Head(std::string_view k) override { return s_.Head(k); }
  Status List(std::string_view p, const std::function<Status(const ObjectInfo&)>& fn) override {
    return s_.List(p, fn);
  }
  Status Put(std::string_view k, ByteView d, const PutOptions& o) override { return s_.Put(k, d, o); }
  Status Delete(std::string_view k) override { return s_.Delete(k); }
  std::string Describe() const override { return s_.Describe(); }

 private:
  ObjectStore& s_;
};

struct Fixture {
  MemoryStore mem;
  FaultyStore faulty{mem};
  std::vector<int64_t> sleeps;
  std::unique_ptr<ObjectStore> store;
  explicit Fixture(int max_retries = 5) {
    StoreOptions o;
    o.max_retries = max_retries;
    store = std::make_unique<RetryingStore>(std::make_unique<Borrowed>(faulty), o,
                                            [this](int64_t ms) { sleeps.push_back(ms); });
  }
};

TEST(RetryingStoreTest, TransientFailuresAreRetried) {
  Fixture f;
  f.faulty.FailEvery(StoreOp::kPut, 2);  // calls 2, 4, 6... fail
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(f.store->Put("k" + std::to_string(i), AsBytes("v")).ok());
  }
  EXPECT_EQ(f.mem.Keys().size(), 10u);
  EXPECT_GE(f.sleeps.size(), 4u);
  for (int64_t ms : f.sleeps) EXPECT_LE(ms, 10000);
}

TEST(RetryingStoreTest, PermanentErrorsAreNotRetried) {
  Fixture f;
  f.faulty.FailNth(StoreOp::kGet, 1, Status::PermissionDenied("403"));
  auto r = f.store->Get("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(f.sleeps.empty());
  EXPECT_EQ(f.store->Get("x").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(RetryingStoreTest, GivesUpAfterMaxRetries) {
  Fixture f(3);
  f.faulty.FailEvery(StoreOp::kHead, 1);  // always
  auto r = f.store->Head("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  EXPECT_NE(r.error().message().find("gave up after 4 attempts"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(f.sleeps.size(), 3u);
  EXPECT_EQ(f.faulty.Calls(StoreOp::kHead), 4u);
}

}  // namespace
}  // namespace cairn
