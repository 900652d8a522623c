#include "tests/support/faulty_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

// With no faults configured a FaultyStore behaves like its base.
std::unique_ptr<ObjectStore> MakeFaultyStore() {
  return std::make_unique<FaultyStore>(std::make_unique<MemoryStore>());
}

INSTANTIATE_TEST_SUITE_P(FaultyPassThrough, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"faulty", MakeFaultyStore}),
                         StoreFactoryName());

class FaultyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(s().Put("packs/00/p", AsBytes("0123456789abcdefghij")).ok());
    ASSERT_TRUE(s().Put("index/i", AsBytes("hello")).ok());
  }
  ObjectStore& s() { return faulty_; }

  MemoryStore mem_;
  FaultyStore faulty_{mem_};
};

TEST_F(FaultyStoreTest, FailNthCountsFromNowAndFailsOnce) {
  faulty_.FailNth(StoreOp::kGet, 2, Status::IOError("boom"));
  faulty_.FailNth(StoreOp::kGet, 4, Status::PermissionDenied("403"));
  EXPECT_TRUE(s().Get("index/i").has_value());
  auto second = s().Get("index/i");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kIOError);
  EXPECT_EQ(second.error().message(), "boom");
  EXPECT_TRUE(s().Get("index/i").has_value());
  EXPECT_EQ(s().Get("index/i").error().code(), ErrorCode::kPermissionDenied);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(s().Get("index/i").has_value());
  // Other operations count separately.
  faulty_.FailNth(StoreOp::kDelete, 1, Status::Locked("locked"));
  EXPECT_TRUE(s().Head("index/i").has_value());
  EXPECT_EQ(s().Delete("index/i").code(), ErrorCode::kLocked);
  EXPECT_TRUE(mem_.Raw("index/i").has_value()) << "a failed call never reaches the base";
  EXPECT_EQ(faulty_.InjectedFailures(), 3u);
}

TEST_F(FaultyStoreTest, FailEveryNthIsDeterministic) {
  faulty_.FailEvery(StoreOp::kHead, 3);
  std::vector<bool> ok;
  for (int i = 0; i < 9; ++i) ok.push_back(s().Head("index/i").has_value());
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, true, true, false, true, true, false}));
  auto r = s().Head("index/i");
  r = s().Head("index/i");
  r = s().Head("index/i");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  EXPECT_NE(r.error().message().find("HEAD index/i"), std::string::npos) << r.error().message();
  faulty_.FailEvery(StoreOp::kHead, 0);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(s().Head("index/i").has_value());
  faulty_.FailEvery(StoreOp::kPut, 1);  // every call
  EXPECT_EQ(s().Put("x", AsBytes("x")).code(), ErrorCode::kTransient);
  EXPECT_EQ(s().Put("x", AsBytes("x")).code(), ErrorCode::kTransient);
  EXPECT_FALSE(mem_.Raw("x").has_value());
}

TEST_F(FaultyStoreTest, FailEveryIsExactUnderConcurrency) {
  faulty_.FailEvery(StoreOp::kGet, 10);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        if (!s().Get("index/i")) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 200);
  EXPECT_EQ(faulty_.Calls(StoreOp::kGet), 2000u);
}

TEST_F(FaultyStoreTest, CorruptGetsFlipsTheByteAtAnOffsetOfTheReturnedRange) {
  faulty_.CorruptGets("packs/", 5);
  EXPECT_EQ(ToString(*s().Get("packs/00/p")), "0123446789abcdefghij");  // '5' ^ 1 == '4'
  EXPECT_EQ(ToString(*s().Get("packs/00/p", 10, 8)), "abcdeggh");       // 'f' ^ 1 == 'g'
  EXPECT_EQ(ToString(*s().Get("packs/00/p", 0, 3)), "012") << "offset outside the range";
  EXPECT_EQ(ToString(*s().Get("index/i")), "hello") << "other prefixes untouched";
  EXPECT_EQ(ToString(*mem_.Raw("packs/00/p")), "0123456789abcdefghij") << "stored bytes intact";
}

TEST_F(FaultyStoreTest, CorruptGetsAtRandomOffsetsFlipsOneBitAndRepeats) {
  const std::string orig = "0123456789abcdefghij";
  auto flipped_at = [&](FaultyStore& f) {
    std::vector<size_t> where;
    for (int i = 0; i < 20; ++i) {
      std::string got = ToString(*static_cast<ObjectStore&>(f).Get("packs/00/p"));
      size_t diffs = 0;
      for (size_t j = 0; j < orig.size(); ++j) {
        if (got[j] != orig[j]) {
          ++diffs;
          EXPECT_EQ(got[j] ^ orig[j], 1);
          where.push_back(j);
        }
      }
      EXPECT_EQ(diffs, 1u);
    }
    return where;
  };
  faulty_.CorruptGets("packs/");
  std::vector<size_t> first = flipped_at(faulty_);
  EXPECT_GT(std::set<size_t>(first.begin(), first.end()).size(), 3u) << "offsets vary";
  FaultyStore again(mem_);
  again.CorruptGets("packs/", FaultyStore::kRandomOffset);
  EXPECT_EQ(flipped_at(again), first) << "the same sequence on every run";
}

TEST_F(FaultyStoreTest, TruncateGetsAndCombinesWithCorruption) {
  faulty_.TruncateGets("packs/00/", 4);
  EXPECT_EQ(ToString(*s().Get("packs/00/p")), "0123");
  EXPECT_EQ(ToString(*s().Get("packs/00/p", 18, 10)), "ij") << "shorter ranges stay whole";
  EXPECT_EQ(ToString(*s().Get("index/i")), "hello");
  faulty_.CorruptGets("packs/", 0);
  EXPECT_EQ(ToString(*s().Get("packs/00/p")), "1123");
  faulty_.TruncateGets("index/", 0);
  EXPECT_EQ(s().Get("index/i")->size(), 0u);
  faulty_.ClearFaults();
  EXPECT_EQ(ToString(*s().Get("packs/00/p")), "0123456789abcdefghij");
}

TEST_F(FaultyStoreTest, NoSpaceAfterBytesStored) {
  faulty_.NoSpaceAfter(10);
  EXPECT_TRUE(s().Put("a", AsBytes("123456")).ok());
  Status full = s().Put("b", AsBytes("12345"));
  EXPECT_EQ(full.code(), ErrorCode::kNoSpace) << full.message();
  EXPECT_NE(full.message().find("b"), std::string::npos);
  EXPECT_FALSE(mem_.Raw("b").has_value());
  EXPECT_TRUE(s().Put("c", AsBytes("1234")).ok()) << "a refused put takes no space";
  EXPECT_EQ(s().Put("d", AsBytes("1")).code(), ErrorCode::kNoSpace);
  faulty_.NoSpaceAfter(FaultyStore::kUnlimited);
  EXPECT_TRUE(s().Put("d", Bytes(1 << 20, 1)).ok());
}

TEST_F(FaultyStoreTest, DelaySlowsEveryCall) {
  faulty_.DelayMs(30);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s().Head("index/i").has_value());
  EXPECT_TRUE(s().List("", [](const ObjectInfo&) { return Status::OK(); }).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
  faulty_.DelayMs(0);
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s().Head("index/i").has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

TEST_F(FaultyStoreTest, CountsCallsAndBytes) {
  const uint64_t puts_before = faulty_.Calls(StoreOp::kPut);
  EXPECT_EQ(puts_before, 2u);
  EXPECT_EQ(faulty_.BytesWritten(), 25u);
  faulty_.TruncateGets("packs/", 7);
  (void)s().Get("packs/00/p");
  (void)s().Get("index/i", 1, 2);
  (void)s().Get("missing");
  (void)s().Head("index/i");
  (void)s().List("", [](const ObjectInfo&) { return Status::OK(); });
  (void)s().Delete("missing");
  EXPECT_EQ(faulty_.Calls(StoreOp::kGet), 3u);
  EXPECT_EQ(faulty_.Calls(StoreOp::kHead), 1u);
  EXPECT_EQ(faulty_.Calls(StoreOp::kList), 1u);
  EXPECT_EQ(faulty_.Calls(StoreOp::kDelete), 1u);
  EXPECT_EQ(faulty_.BytesRead(), 9u);
  EXPECT_EQ(faulty_.InjectedFailures(), 0u);
  EXPECT_EQ(s().Describe(), "faulty(memory)");
}

TEST_F(FaultyStoreTest, S3ExtrasPassThrough) {
  EXPECT_EQ(s().SetRetention("index/i", LockMode::kGovernance, 1).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(*s().GetRetention("index/i"), 0);
  EXPECT_EQ(s().RequestRestore("index/i", 1).code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace cairn
