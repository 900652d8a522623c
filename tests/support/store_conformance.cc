#include "tests/support/store_conformance.h"

#include <atomic>
#include <set>
#include <thread>

namespace cairn {
namespace {

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

std::set<std::string> Listed(ObjectStore& s, std::string_view prefix) {
  std::set<std::string> keys;
  EXPECT_TRUE(s.List(prefix, [&](const ObjectInfo& i) {
                 keys.insert(i.key);
                 return Status::OK();
               }).ok());
  return keys;
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformanceTest);

TEST_P(StoreConformanceTest, PutGetRoundTrip) {
  Bytes data = Pattern(1000, 1);
  ASSERT_TRUE(store_->Put("config", data).ok());
  auto got = store_->Get("config");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  auto head = store_->Head("config");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->size, 1000u);
}

TEST_P(StoreConformanceTest, EmptyAndLargeObjects) {
  ASSERT_TRUE(store_->Put("index/empty", ByteView()).ok());
  auto e = store_->Get("index/empty");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->empty());
  Bytes big = Pattern(16 << 20, 3);
  ASSERT_TRUE(store_->Put("packs/ab/big", big).ok());
  auto got = store_->Get("packs/ab/big");
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == big);
}

TEST_P(StoreConformanceTest, Ranges) {
  Bytes data = Pattern(4096, 5);
  ASSERT_TRUE(store_->Put("packs/00/p", data).ok());
  auto check = [&](uint64_t off, uint64_t len, size_t want) {
    auto r = store_->Get("packs/00/p", off, len);
    ASSERT_TRUE(r) << off << "+" << len << ": " << r.error().message();
    ASSERT_EQ(r->size(), want) << off << "+" << len;
    EXPECT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<ptrdiff_t>(off)));
  };
  check(0, 10, 10);
  check(100, 1000, 1000);
  check(4000, 96, 96);
  check(4000, 500, 96);  // past the end: what exists
  check(10, 0, 0);
  check(4096, 10, 0);  // offset == size
  auto r = store_->Get("packs/00/p", 5000, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, MissingKeys) {
  auto g = store_->Get("snapshots/none");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kNotFound);
  auto h = store_->Head("snapshots/none");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->Delete("snapshots/none").ok());
}

TEST_P(StoreConformanceTest, ListPrefixes) {
  for (const char* k : {"config", "keys/k1", "index/i1", "index/i2", "packs/ab/ab12", "packs/ab/ab34",
                        "packs/cd/cd56", "snapshots/s1"}) {
    ASSERT_TRUE(store_->Put(k, Pattern(10, 1)).ok());
  }
  EXPECT_EQ(Listed(*store_, "").size(), 8u);
  EXPECT_EQ(Listed(*store_, "index/"), (std::set<std::string>{"index/i1", "index/i2"}));
  EXPECT_EQ(Listed(*store_, "packs/").size(), 3u);
  EXPECT_EQ(Listed(*store_, "packs/ab/ab1"), (std::set<std::string>{"packs/ab/ab12"}));
  EXPECT_EQ(Listed(*store_, "pack").size(), 3u);
  EXPECT_EQ(Listed(*store_, "conf"), (std::set<std::string>{"config"}));
  EXPECT_TRUE(Listed(*store_, "nothing/").empty());
  size_t seen = 0;
  Status s = store_->List("packs/", [&](const ObjectInfo& i) {
    EXPECT_EQ(i.size, 10u);
    return ++seen == 2 ? Status::Cancelled("stop") : Status::OK();
  });
  EXPECT_EQ(s.code(), ErrorCode::kCancelled);
  EXPECT_EQ(seen, 2u);
}

TEST_P(StoreConformanceTest, DeleteAndIfNotExists) {
  ASSERT_TRUE(store_->Put("keys/a", Pattern(5, 1)).ok());
  PutOptions once;
  once.if_not_exists = true;
  Status s = store_->Put("keys/a", Pattern(5, 2), once);
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(*store_->Get("keys/a"), Pattern(5, 1));
  EXPECT_TRUE(store_->Put("keys/b", Pattern(5, 2), once).ok());
  ASSERT_TRUE(store_->Delete("keys/a").ok());
  EXPECT_EQ(store_->Get("keys/a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Listed(*store_, "keys/"), (std::set<std::string>{"keys/b"}));
}

TEST_P(StoreConformanceTest, DeepKeys) {
  std::string key = "a/b/c/d/e/f/g/h";
  ASSERT_TRUE(store_->Put(key, Pattern(3, 9)).ok());
  EXPECT_EQ(*store_->Get(key), Pattern(3, 9));
  EXPECT_EQ(Listed(*store_, "a/b/c/"), (std::set<std::string>{key}));
}

TEST_P(StoreConformanceTest, ConcurrentUse) {
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string own = "packs/" + std::to_string(t) + "/" + std::to_string(i);
        Bytes d = Pattern(1000 + static_cast<size_t>(i), static_cast<uint8_t>(t));
        if (!store_->Put(own, d).ok()) ++errors;
        if (!store_->Put("index/shared", d).ok()) ++errors;
        auto g = store_->Get(own);
        if (!g || *g != d) ++errors;
        auto s = store_->Get("index/shared");
        if (!s || s->size() < 1000) ++errors;  // some writer's whole object
        (void)store_->List("packs/", [](const ObjectInfo&) { return Status::OK(); });
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Listed(*store_, "packs/").size(), 160u);
}

}  // namespace
}  // namespace cairn
