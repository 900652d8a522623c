#include "tests/support/store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <vector>

namespace cairn {

std::string MakeTempDir(std::string_view tag) {
  std::string tmpl = "/tmp/cairn-" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    return "";
  }
  return tmpl;
}

DirRemover::~DirRemover() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

namespace {

// Deterministic bytes; seed goes first so objects of different writers differ
// from their first byte.
Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

// key -> size of every object listed under prefix; fails the test on an error
// or a key listed twice.
std::map<std::string, uint64_t> Listed(ObjectStore& s, std::string_view prefix) {
  std::map<std::string, uint64_t> keys;
  Status st = s.List(prefix, [&](const ObjectInfo& i) {
    EXPECT_TRUE(keys.emplace(i.key, i.size).second) << "listed twice: " << i.key;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << "List(\"" << prefix << "\"): " << st.message();
  return keys;
}

std::set<std::string> ListedKeys(ObjectStore& s, std::string_view prefix) {
  std::set<std::string> out;
  for (const auto& [k, size] : Listed(s, prefix)) out.insert(k);
  return out;
}

PutOptions IfNotExists() {
  PutOptions o;
  o.if_not_exists = true;
  return o;
}

// --- Read cases, shared by the writable and the read-only suites: the
// objects are put through `writer` and read through `reader` (the same store
// in the writable suite). ---

Bytes PutAll(ObjectStore& writer, std::string_view key, Bytes data) {
  Status s = writer.Put(key, data);
  EXPECT_TRUE(s.ok()) << key << ": " << s.message();
  return data;
}

void ExpectRoundTrip(ObjectStore& writer, ObjectStore& reader) {
  Bytes data(256 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);  // every byte value
  PutAll(writer, "config", data);
  auto got = reader.Get("config");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  auto head = reader.Head("config");
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(head->key, "config");
  EXPECT_EQ(head->size, data.size());
}

// A read that starts past the end is OutOfRange (for a pack: truncated),
// never InvalidArgument (bad input) or NotFound (no such object).
void ExpectPastTheEndIsOutOfRange(ObjectStore& reader, std::string_view key, uint64_t size) {
  for (uint64_t off : {size + 1, size + 1000, uint64_t{UINT64_MAX}}) {
    for (uint64_t len : {uint64_t{0}, uint64_t{1}, uint64_t{10}, ObjectStore::kToEnd}) {
      auto r = reader.Get(key, off, len);
      ASSERT_FALSE(r) << key << " " << off << "+" << len;
      EXPECT_EQ(r.error().code(), ErrorCode::kOutOfRange)
          << key << " " << off << "+" << len << ": " << r.error().message();
      EXPECT_NE(r.error().message().find(key), std::string::npos) << r.error().message();
    }
  }
}

void ExpectEmptyObject(ObjectStore& writer, ObjectStore& reader) {
  ASSERT_TRUE(writer.Put("index/empty", ByteView()).ok());
  auto e = reader.Get("index/empty");
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_TRUE(e->empty());
  EXPECT_EQ(reader.Head("index/empty")->size, 0u);
  EXPECT_EQ(Listed(reader, "index/"), (std::map<std::string, uint64_t>{{"index/empty", 0}}));
  auto at_end = reader.Get("index/empty", 0, 10);
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(at_end->empty());
  ExpectPastTheEndIsOutOfRange(reader, "index/empty", 0);
}

void ExpectRangedGets(ObjectStore& writer, ObjectStore& reader) {
  const Bytes data = PutAll(writer, "packs/00/p", Pattern(4096, 5));
  auto check = [&](uint64_t off, uint64_t len, size_t want) {
    auto r = reader.Get("packs/00/p", off, len);
    ASSERT_TRUE(r) << off << "+" << len << ": " << r.error().message();
    ASSERT_EQ(r->size(), want) << off << "+" << len;
    EXPECT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<ptrdiff_t>(off)))
        << off << "+" << len;
  };
  check(0, 10, 10);                        // start
  check(100, 1000, 1000);                  // middle
  check(4000, 96, 96);                     // exactly the end
  check(4000, 500, 96);                    // past the end: the bytes that exist
  check(1000, ObjectStore::kToEnd, 3096);  // to the end
  check(4095, UINT64_MAX - 1, 1);          // no overflow in offset + length
  check(10, 0, 0);                         // zero length
  check(4096, 10, 0);                      // offset == size
  check(4096, 0, 0);
  check(4096, ObjectStore::kToEnd, 0);
  ExpectPastTheEndIsOutOfRange(reader, "packs/00/p", 4096);
}

void ExpectMissingKeysAreNotFound(ObjectStore& writer, ObjectStore& reader) {
  auto g = reader.Get("snapshots/none");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kNotFound) << g.error().message();
  auto r = reader.Get("snapshots/none", 10, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound) << r.error().message();
  auto h = reader.Head("snapshots/none");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kNotFound) << h.error().message();
  PutAll(writer, "snapshots/one", Pattern(3, 1));
  EXPECT_EQ(reader.Get("snapshots/on").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reader.Head("snapshots/one/x").error().code(), ErrorCode::kNotFound);
}

void ExpectListedPrefixes(ObjectStore& writer, ObjectStore& reader) {
  const std::map<std::string, uint64_t> all = {
      {"config", 11},        {"keys/k1", 12},       {"index/i1", 13},      {"index/i2", 14},
      {"packs/ab/ab12", 15}, {"packs/ab/ab34", 16}, {"packs/cd/cd56", 17}, {"snapshots/s1", 0},
  };
  for (const auto& [k, size] : all) PutAll(writer, k, Pattern(size, 1));
  EXPECT_EQ(Listed(reader, ""), all);  // sizes too
  EXPECT_EQ(ListedKeys(reader, "index/"), (std::set<std::string>{"index/i1", "index/i2"}));
  EXPECT_EQ(ListedKeys(reader, "index/i2"), (std::set<std::string>{"index/i2"}));
  EXPECT_EQ(ListedKeys(reader, "packs/"),
            (std::set<std::string>{"packs/ab/ab12", "packs/ab/ab34", "packs/cd/cd56"}));
  EXPECT_EQ(ListedKeys(reader, "packs/ab/"),
            (std::set<std::string>{"packs/ab/ab12", "packs/ab/ab34"}));
  EXPECT_EQ(ListedKeys(reader, "packs/ab/ab1"), (std::set<std::string>{"packs/ab/ab12"}));
  EXPECT_EQ(ListedKeys(reader, "packs/a"),
            (std::set<std::string>{"packs/ab/ab12", "packs/ab/ab34"}));
  EXPECT_EQ(ListedKeys(reader, "pack").size(), 3u);
  EXPECT_EQ(ListedKeys(reader, "conf"), (std::set<std::string>{"config"}));
  EXPECT_EQ(ListedKeys(reader, "config"), (std::set<std::string>{"config"}));
  EXPECT_TRUE(ListedKeys(reader, "nothing/").empty());
  EXPECT_TRUE(ListedKeys(reader, "packs/zz/").empty());
  EXPECT_TRUE(ListedKeys(reader, "packs/ab/ab9").empty());
  EXPECT_TRUE(ListedKeys(reader, "index/i1/").empty());
  EXPECT_TRUE(ListedKeys(reader, "x").empty());
}

void ExpectListStopsAtTheCallbacksError(ObjectStore& writer, ObjectStore& reader) {
  for (int i = 0; i < 5; ++i) PutAll(writer, "index/" + std::to_string(i), Pattern(4, 1));
  size_t seen = 0;
  Status s = reader.List("index/", [&](const ObjectInfo& i) {
    EXPECT_EQ(i.size, 4u);
    return ++seen == 2 ? Status::Cancelled("stop here") : Status::OK();
  });
  EXPECT_EQ(s.code(), ErrorCode::kCancelled);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(seen, 2u);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformanceTest);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ReadOnlyStoreConformanceTest);

TEST_P(StoreConformanceTest, PutGetRoundTrip) { ExpectRoundTrip(store(), store()); }


TEST_P(StoreConformanceTest, EmptyObject) { ExpectEmptyObject(store(), store()); }


TEST_P(StoreConformanceTest, LargeObject) {
  const Bytes big = Pattern(16 << 20, 3);
  ASSERT_TRUE(store().Put("packs/ab/big", big).ok());
  EXPECT_EQ(store().Head("packs/ab/big")->size, big.size());
  auto got = store().Get("packs/ab/big");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_TRUE(*got == big);
  auto tail = store().Get("packs/ab/big", big.size() - 1000, ObjectStore::kToEnd);
  ASSERT_TRUE(tail);
  EXPECT_TRUE(std::equal(tail->begin(), tail->end(), big.end() - 1000, big.end()));
}

TEST_P(StoreConformanceTest, RangedGet) { ExpectRangedGets(store(), store()); }

TEST_P(StoreConformanceTest, ReadPastTheEndIsOutOfRange) {
  const Bytes data = PutAll(store(), "packs/ab/short", Pattern(100, 2));
  ExpectPastTheEndIsOutOfRange(store(), "packs/ab/short", 100);
  // The object is unharmed and the bytes that exist still read.
  auto tail = store().Get("packs/ab/short", 90, 1000);
  ASSERT_TRUE(tail) << tail.error().message();
  EXPECT_EQ(*tail, Bytes(data.begin() + 90, data.end()));
}


TEST_P(StoreConformanceTest, MissingKeysAreNotFound) {
  ExpectMissingKeysAreNotFound(store(), store());
}


TEST_P(StoreConformanceTest, ListPrefixes) { ExpectListedPrefixes(store(), store()); }


TEST_P(StoreConformanceTest, ListStopsAtTheCallbacksError) {
  ExpectListStopsAtTheCallbacksError(store(), store());
}


TEST_P(StoreConformanceTest, ListCallbackMayDeleteWhatItSees) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store()
                    .Put("packs/0" + std::to_string(i % 3) + "/" + std::to_string(i), Pattern(8, 1))
                    .ok());
  }
  ASSERT_TRUE(store().Put("index/keep", Pattern(8, 2)).ok());
  size_t deleted = 0;
  Status s = store().List("packs/", [&](const ObjectInfo& i) {
    ++deleted;
    return store().Delete(i.key);  // as prune does
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(deleted, 20u);
  EXPECT_TRUE(ListedKeys(store(), "packs/").empty());
  EXPECT_EQ(ListedKeys(store(), ""), (std::set<std::string>{"index/keep"}));
}

TEST_P(StoreConformanceTest, DeleteRemovesAndIsIdempotent) {
  ASSERT_TRUE(store().Put("locks/a", Pattern(5, 1)).ok());
  ASSERT_TRUE(store().Put("locks/b", Pattern(5, 2)).ok());
  ASSERT_TRUE(store().Delete("locks/a").ok());
  EXPECT_EQ(store().Get("locks/a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store().Head("locks/a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ListedKeys(store(), "locks/"), (std::set<std::string>{"locks/b"}));
  EXPECT_TRUE(store().Delete("locks/a").ok()) << "deleting twice";
  EXPECT_TRUE(store().Delete("locks/never").ok()) << "deleting a missing key";
  EXPECT_TRUE(store().Delete("nowhere/never").ok()) << "deleting under a missing prefix";
  EXPECT_EQ(*store().Get("locks/b"), Pattern(5, 2));
}

TEST_P(StoreConformanceTest, IfNotExistsRefusesAnExistingKey) {
  ASSERT_TRUE(store().Put("keys/a", Pattern(5, 1)).ok());
  Status s = store().Put("keys/a", Pattern(50, 2), IfNotExists());
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.message();
  EXPECT_EQ(*store().Get("keys/a"), Pattern(5, 1)) << "the old bytes stay";
  EXPECT_EQ(store().Head("keys/a")->size, 5u);
  EXPECT_TRUE(store().Put("keys/b", Pattern(5, 2), IfNotExists()).ok());
  EXPECT_EQ(*store().Get("keys/b"), Pattern(5, 2));
  ASSERT_TRUE(store().Delete("keys/a").ok());
  EXPECT_TRUE(store().Put("keys/a", Pattern(7, 3), IfNotExists()).ok()) << "after a delete";
  EXPECT_EQ(*store().Get("keys/a"), Pattern(7, 3));
  EXPECT_EQ(ListedKeys(store(), "keys/"), (std::set<std::string>{"keys/a", "keys/b"}));
}

TEST_P(StoreConformanceTest, OverwriteReplacesOrIsRefusedButNeverCorrupts) {
  const Bytes first = Pattern(3000, 1), second = Pattern(1000, 2);
  ASSERT_TRUE(store().Put("snapshots/s", first).ok());
  Status s = store().Put("snapshots/s", second);
  auto got = store().Get("snapshots/s");
  ASSERT_TRUE(got) << got.error().message();
  if (s.ok()) {
    EXPECT_EQ(*got, second);
    EXPECT_EQ(store().Head("snapshots/s")->size, second.size());
  } else {
    EXPECT_EQ(*got, first) << "refused overwrite changed the object: " << s.message();
  }
  EXPECT_EQ(ListedKeys(store(), "snapshots/").size(), 1u);
}

TEST_P(StoreConformanceTest, ConcurrentPutsGetsAndLists) {
  constexpr int kThreads = 8, kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto seed = static_cast<uint8_t>(16 * t);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string own = "packs/" + std::to_string(t) + "/" + std::to_string(i);
        const Bytes d = Pattern(1000 + static_cast<size_t>(i), seed);
        if (!store().Put(own, d).ok()) ++errors;
        if (!store().Put("index/shared", d).ok()) ++errors;
        auto g = store().Get(own);
        if (!g || *g != d) ++errors;
        // Whatever is under the shared key is one writer's whole object.
        auto s = store().Get("index/shared");
        if (!s || s->size() < 1000 || *s != Pattern(s->size(), (*s)[0])) ++errors;
        size_t listed = 0;
        Status l = store().List("packs/" + std::to_string(t) + "/", [&](const ObjectInfo&) {
          ++listed;
          return Status::OK();
        });
        if (!l.ok() || listed != static_cast<size_t>(i + 1)) ++errors;
        if (!store().List("", [](const ObjectInfo&) { return Status::OK(); }).ok()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(ListedKeys(store(), "packs/").size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(StoreConformanceTest, ConcurrentIfNotExistsHasOneWinner) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    const std::string key = "config" + std::to_string(round);
    std::vector<Status> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        results[static_cast<size_t>(t)] =
            store().Put(key, Pattern(100 + static_cast<size_t>(t), 1), IfNotExists());
      });
    }
    for (auto& th : threads) th.join();
    int winner = -1;
    for (int t = 0; t < kThreads; ++t) {
      const Status& s = results[static_cast<size_t>(t)];
      if (s.ok()) {
        EXPECT_EQ(winner, -1) << "two writers both created " << key;
        winner = t;
      } else {
        EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.message();
      }
    }
    ASSERT_NE(winner, -1);
    EXPECT_EQ(*store().Get(key), Pattern(100 + static_cast<size_t>(winner), 1));
  }
}

TEST_P(StoreConformanceTest, KeysWithManyLevels) {
  const std::string key = "a/b/c/d/e/f/g/h/i/j/k/l";
  ASSERT_TRUE(store().Put(key, Pattern(3, 9)).ok());
  ASSERT_TRUE(store().Put("a/b/other", Pattern(4, 9)).ok());
  EXPECT_EQ(*store().Get(key), Pattern(3, 9));
  EXPECT_EQ(store().Head(key)->size, 3u);
  EXPECT_EQ(ListedKeys(store(), "a/b/c/"), (std::set<std::string>{key}));
  EXPECT_EQ(ListedKeys(store(), "a/b/c/d/e/f/g/h/i/j/k/"), (std::set<std::string>{key}));
  EXPECT_EQ(ListedKeys(store(), "a/"), (std::set<std::string>{key, "a/b/other"}));
  EXPECT_EQ(ListedKeys(store(), "a/b/o"), (std::set<std::string>{"a/b/other"}));
  ASSERT_TRUE(store().Delete(key).ok());
  EXPECT_EQ(ListedKeys(store(), "a/"), (std::set<std::string>{"a/b/other"}));
}

// --- Read-only stores ---

TEST_P(ReadOnlyStoreConformanceTest, EveryWriteIsRefusedWithReadOnly) {
  const Bytes config = PutAll(writer(), "config", Pattern(10, 1));
  auto expect_refused = [](const Status& s, std::string_view key) {
    EXPECT_EQ(s.code(), ErrorCode::kReadOnly) << s.message();
    EXPECT_NE(s.message().find("read-only"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  };
  expect_refused(store().Put("index/new", Pattern(5, 2)), "index/new");
  expect_refused(store().Put("config", Pattern(5, 2)), "config");
  // Refused before the store could answer AlreadyExists or OK.
  expect_refused(store().Put("config", Pattern(5, 2), IfNotExists()), "config");
  expect_refused(store().Put("keys/new", Pattern(5, 2), IfNotExists()), "keys/new");
  expect_refused(store().Delete("config"), "config");
  expect_refused(store().Delete("locks/absent"), "locks/absent");
  expect_refused(store().SetRetention("config", LockMode::kCompliance, 1), "config");
  expect_refused(store().RequestRestore("config", 1), "config");
  // Nothing reached the store beneath.
  EXPECT_EQ(Listed(writer(), ""), (std::map<std::string, uint64_t>{{"config", 10}}));
  EXPECT_EQ(*writer().Get("config"), config);
}

TEST_P(ReadOnlyStoreConformanceTest, ReadsPassThrough) {
  ExpectRoundTrip(writer(), store());
  EXPECT_NE(store().Describe().find(writer().Describe()), std::string::npos)
      << store().Describe() << " names " << writer().Describe();
  auto retention = store().GetRetention("config");
  auto direct = writer().GetRetention("config");
  ASSERT_EQ(retention.has_value(), direct.has_value());
  if (retention) {
    EXPECT_EQ(*retention, *direct);
  }
  const StoreTraits t = store().Traits(), w = writer().Traits();
  EXPECT_EQ(t.latency, w.latency);
  EXPECT_EQ(t.connections, w.connections);
}

TEST_P(ReadOnlyStoreConformanceTest, EmptyObject) { ExpectEmptyObject(writer(), store()); }

TEST_P(ReadOnlyStoreConformanceTest, RangedGet) { ExpectRangedGets(writer(), store()); }

TEST_P(ReadOnlyStoreConformanceTest, MissingKeysAreNotFound) {
  ExpectMissingKeysAreNotFound(writer(), store());
}

TEST_P(ReadOnlyStoreConformanceTest, ListPrefixes) { ExpectListedPrefixes(writer(), store()); }

TEST_P(ReadOnlyStoreConformanceTest, ListStopsAtTheCallbacksError) {
  ExpectListStopsAtTheCallbacksError(writer(), store());
}

TEST_P(ReadOnlyStoreConformanceTest, ConcurrentReads) {
  constexpr int kThreads = 8, kObjects = 20;
  for (int i = 0; i < kObjects; ++i) {
    PutAll(writer(), "packs/" + std::to_string(i), Pattern(1000 + static_cast<size_t>(i), 3));
  }
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kObjects; ++n) {
        const int i = (n + t) % kObjects;
        const std::string key = "packs/" + std::to_string(i);
        auto g = store().Get(key);
        if (!g || *g != Pattern(1000 + static_cast<size_t>(i), 3)) ++errors;
        auto h = store().Head(key);
        if (!h || h->size != 1000 + static_cast<uint64_t>(i)) ++errors;
        size_t listed = 0;
        Status l = store().List("packs/", [&](const ObjectInfo&) {
          ++listed;
          return Status::OK();
        });
        if (!l.ok() || listed != kObjects) ++errors;
        if (!store().Put(key, Pattern(3, 9)).Is(ErrorCode::kReadOnly)) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace cairn
