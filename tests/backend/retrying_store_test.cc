#include "backend/retrying_store.h"

#include <gtest/gtest.h>

#include <mutex>
#include <numeric>
#include <set>
#include <vector>

#include "tests/support/faulty_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

std::unique_ptr<ObjectStore> MakeRetryingOverMemory() {
  return std::make_unique<RetryingStore>(std::make_unique<MemoryStore>(), RetryPolicy{},
                                         [](int64_t) {});
}

std::unique_ptr<ObjectStore> MakeRetryingOverFaulty() {
  auto faulty = std::make_unique<FaultyStore>(std::make_unique<MemoryStore>());
  for (StoreOp op :
       {StoreOp::kGet, StoreOp::kHead, StoreOp::kList, StoreOp::kPut, StoreOp::kDelete}) {
    faulty->FailEvery(op, 3);
  }
  RetryPolicy o;
  o.max_retries = 20;
  return std::make_unique<RetryingStore>(std::move(faulty), o, [](int64_t) {});
}

// Retrying over a clean store changes nothing, and over a store where one
// call in three of every operation fails with Transient the whole contract
// still holds.
INSTANTIATE_TEST_SUITE_P(Retrying, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"over_memory", MakeRetryingOverMemory},
                                           StoreFactory{"over_one_in_three_failing",
                                                        MakeRetryingOverFaulty}),
                         StoreFactoryName());

// Collects log lines.
class CapturingLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back({level, std::string(message)});
  }
  bool Enabled(LogLevel) const override { return true; }
  std::vector<std::pair<LogLevel, std::string>> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_;  // GUARDED_BY(mu_)
};

// A RetryingStore over FaultyStore over MemoryStore, with a fake clock that
// only the fake sleep advances.
class RetryingStoreTest : public ::testing::Test {
 protected:
  void Make(RetryPolicy o) {
    o.logger = &logger_;
    auto faulty = std::make_unique<FaultyStore>(mem_);
    faulty_ = faulty.get();
    store_ = std::make_unique<RetryingStore>(
        std::move(faulty), o,
        [this](int64_t ms) {
          std::lock_guard<std::mutex> lock(mu_);
          sleeps_.push_back(ms);
          now_ms_ += ms;
        },
        [this] {
          std::lock_guard<std::mutex> lock(mu_);
          return now_ms_;
        });
  }
  void SetUp() override { Make(RetryPolicy{}); }
  ObjectStore& s() { return *store_; }
  int64_t Slept() { return std::accumulate(sleeps_.begin(), sleeps_.end(), int64_t{0}); }

  MemoryStore mem_;
  CapturingLogger logger_;
  FaultyStore* faulty_ = nullptr;
  std::unique_ptr<ObjectStore> store_;
  std::mutex mu_;
  std::vector<int64_t> sleeps_;  // GUARDED_BY(mu_)
  int64_t now_ms_ = 0;           // GUARDED_BY(mu_)
};

TEST_F(RetryingStoreTest, OneInNTransientFailuresAreRetriedToSuccess) {
  faulty_->FailEvery(StoreOp::kPut, 3);  // calls 3, 6, 9... fail
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(s().Put("packs/00/" + std::to_string(i), AsBytes("v")).ok()) << i;
  }
  EXPECT_EQ(mem_.Keys().size(), 30u);
  // 44 calls: 14 failed (3, 6, ..., 42) and were retried once each.
  EXPECT_EQ(faulty_->Calls(StoreOp::kPut), 44u);
  EXPECT_EQ(sleeps_.size(), 14u);
  faulty_->FailEvery(StoreOp::kGet, 2);  // every other call fails
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ToString(*s().Get("packs/00/1")), "v");
  EXPECT_EQ(faulty_->Calls(StoreOp::kGet), 19u);
  EXPECT_EQ(sleeps_.size(), 14u + 9u);
  for (int64_t ms : sleeps_) EXPECT_TRUE(ms >= 0 && ms <= 100) << ms;  // first retry: [0, base]
}

TEST_F(RetryingStoreTest, PermanentErrorsReturnAtOnceUnchanged) {
  ASSERT_TRUE(s().Put("index/i", AsBytes("v")).ok());
  for (const Status& err :
       {Status::PermissionDenied("403 Forbidden"), Status::IOError("eio"),
        Status::Corruption("bad"), Status::Locked("object locked"), Status::NoSpace("full")}) {
    faulty_->FailNth(StoreOp::kGet, 1, err);
    auto r = s().Get("index/i");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), err.code());
    EXPECT_EQ(r.error().message(), err.message());
  }
  EXPECT_EQ(s().Head("index/none").error().code(), ErrorCode::kNotFound);
  PutOptions once;
  once.if_not_exists = true;
  EXPECT_EQ(s().Put("index/i", AsBytes("w"), once).code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(faulty_->Calls(StoreOp::kGet), 5u);
}

TEST_F(RetryingStoreTest, GivesUpAfterMaxRetriesWithTheLastError) {
  RetryPolicy o;
  o.max_retries = 3;
  Make(o);
  faulty_->FailEvery(StoreOp::kHead, 1);  // always
  auto r = s().Head("packs/ab/abcd");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  EXPECT_NE(r.error().message().find("after 4 attempts"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("injected fault: HEAD packs/ab/abcd (call 4)"),
            std::string::npos)
      << "the last error: " << r.error().message();
  EXPECT_EQ(sleeps_.size(), 3u);
  EXPECT_EQ(faulty_->Calls(StoreOp::kHead), 4u);
}

TEST_F(RetryingStoreTest, GivesUpWhenTheTimeBudgetIsSpent) {
  RetryPolicy o;
  o.max_retries = 1000;
  o.retry_budget_ms = 1000;
  o.retry_base_delay_ms = 100;
  Make(o);
  faulty_->FailEvery(StoreOp::kGet, 1);
  auto r = s().Get("config");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  EXPECT_NE(r.error().message().find("attempts in 1000 ms"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(Slept(), 1000) << "sleeps are cut to the budget";
  EXPECT_LT(faulty_->Calls(StoreOp::kGet), 1001u);
}

TEST_F(RetryingStoreTest, BackoffGrowsExponentiallyWithFullJitter) {
  RetryPolicy o;
  o.max_retries = 12;
  o.retry_budget_ms = INT64_MAX / 2;
  o.retry_base_delay_ms = 100;
  Make(o);
  faulty_->FailEvery(StoreOp::kList, 1);
  Status st = s().List("", [](const ObjectInfo&) { return Status::OK(); });
  EXPECT_EQ(st.code(), ErrorCode::kTransient);
  ASSERT_EQ(sleeps_.size(), 12u);
  bool grew = false;
  for (size_t n = 0; n < sleeps_.size(); ++n) {
    const int64_t cap = std::min<int64_t>(RetryingStore::kMaxDelayMs, int64_t{100} << n);
    EXPECT_GE(sleeps_[n], 0);
    EXPECT_LE(sleeps_[n], cap) << "retry " << n;
    grew |= n >= 5 && sleeps_[n] > 100;
  }
  EXPECT_TRUE(grew) << "later retries wait longer (7 draws up to >= 3.2 s all <= 100 ms?)";
}

TEST_F(RetryingStoreTest, RetriesAreLoggedAtDebugLevel) {
  ASSERT_TRUE(s().Put("snapshots/s1", AsBytes("v")).ok());
  faulty_->FailNth(StoreOp::kGet, 1, Status::Transient("503 Slow Down"));
  EXPECT_TRUE(s().Get("snapshots/s1").has_value());
  auto lines = logger_.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].first, LogLevel::kDebug);
  for (const char* part : {"GET", "snapshots/s1", "attempt 1", "503 Slow Down"}) {
    EXPECT_NE(lines[0].second.find(part), std::string::npos) << lines[0].second;
  }
}

TEST_F(RetryingStoreTest, WorksWithoutALogger) {
  RetryPolicy o;
  o.logger = nullptr;
  RetryingStore plain(std::make_unique<FaultyStore>(mem_), o, [](int64_t) {});
  ASSERT_TRUE(static_cast<ObjectStore&>(plain).Put("k", AsBytes("v")).ok());
}

TEST_F(RetryingStoreTest, ListCallbackErrorsAreNotRetried) {
  ASSERT_TRUE(s().Put("index/a", AsBytes("v")).ok());
  int calls = 0;
  Status st = s().List("index/", [&](const ObjectInfo&) {
    ++calls;
    return Status::Transient("the caller's own transient error");
  });
  EXPECT_EQ(st.code(), ErrorCode::kTransient);
  EXPECT_EQ(st.message(), "the caller's own transient error");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(faulty_->Calls(StoreOp::kList), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryingStoreTest, FailedListIsRestarted) {
  for (const char* k : {"index/a", "index/b", "index/c"})
    ASSERT_TRUE(s().Put(k, AsBytes("v")).ok());
  faulty_->FailNth(StoreOp::kList, 1, Status::Transient("reset"));
  std::set<std::string> keys;
  ASSERT_TRUE(s().List("index/",
                       [&](const ObjectInfo& i) {
                         keys.insert(i.key);
                         return Status::OK();
                       })
                  .ok());
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(sleeps_.size(), 1u);
}

// Stores the first Put and then reports it as failed, as when an S3 reply
// is lost after the object landed.
class LostReplyStore final : public ForwardingStore {
 public:
  explicit LostReplyStore(MemoryStore& base) : ForwardingStore(base) {}

 protected:
  Status DoPut(std::string_view k, ByteView d, const PutOptions& o) override {
    Status s = target().Put(k, d, o);
    if (s.ok() && !lost_one_) {
      lost_one_ = true;
      return Status::Transient("connection reset after upload");
    }
    return s;
  }

 private:
  bool lost_one_ = false;  // single-threaded test use only
};

TEST(RetryingStoreLostReplyTest, IfNotExistsPutWhoseReplyWasLostSucceeds) {
  MemoryStore mem;
  RetryingStore store(std::make_unique<LostReplyStore>(mem), RetryPolicy{}, [](int64_t) {});
  ObjectStore& s = store;
  PutOptions once;
  once.if_not_exists = true;
  EXPECT_TRUE(s.Put("config", AsBytes("mine"), once).ok());
  EXPECT_EQ(ToString(*mem.Raw("config")), "mine");
  Status other = s.Put("config", AsBytes("theirs"), once);
  EXPECT_EQ(other.code(), ErrorCode::kAlreadyExists) << "a real conflict is still refused";
}

TEST(RetryingStoreLostReplyTest, LostReplyDoesNotHideSomeoneElsesObject) {
  MemoryStore mem;
  RetryingStore store(std::make_unique<LostReplyStore>(mem), RetryPolicy{}, [](int64_t) {});
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("warmup", AsBytes("x")).ok());  // uses up the lost reply, then retries
  mem.SetRaw("config", ToBytes("theirs"));
  PutOptions once;
  once.if_not_exists = true;
  EXPECT_EQ(s.Put("config", AsBytes("mine"), once).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ToString(*mem.Raw("config")), "theirs");
}

}  // namespace
}  // namespace cairn
