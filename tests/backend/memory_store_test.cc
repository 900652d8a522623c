#include "tests/support/memory_store.h"

#include <gtest/gtest.h>

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

std::unique_ptr<ObjectStore> MakeMemoryStore() { return std::make_unique<MemoryStore>(); }

INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"memory", MakeMemoryStore}),
                         StoreFactoryName());

TEST(MemoryStoreTest, RawAccessBypassesTheApi) {
  MemoryStore mem;
  ObjectStore& s = mem;
  EXPECT_FALSE(mem.Raw("config").has_value());
  mem.SetRaw("config", ToBytes("raw"));
  EXPECT_EQ(ToString(*s.Get("config")), "raw");
  EXPECT_EQ(ToString(*mem.Raw("config")), "raw");
  mem.SetRaw("config", ToBytes("replaced"));
  EXPECT_EQ(ToString(*s.Get("config")), "replaced");
}

TEST(MemoryStoreTest, MutateRawChangesTheStoredObject) {
  MemoryStore mem;
  ObjectStore& s = mem;
  ASSERT_TRUE(s.Put("packs/00/p", AsBytes("hello")).ok());
  EXPECT_TRUE(mem.MutateRaw("packs/00/p", [](Bytes& b) {
    b[0] ^= 0x20;
    b.resize(3);
  }));
  EXPECT_EQ(ToString(*s.Get("packs/00/p")), "Hel");
  EXPECT_EQ(s.Head("packs/00/p")->size, 3u);
  EXPECT_FALSE(mem.MutateRaw("packs/00/none", [](Bytes&) { ADD_FAILURE(); }));
}

TEST(MemoryStoreTest, KeysAreSortedAndFilteredByPrefix) {
  MemoryStore mem;
  ObjectStore& s = mem;
  for (const char* k : {"index/b", "index/a", "packs/00/x", "indexes"}) {
    ASSERT_TRUE(s.Put(k, AsBytes("v")).ok());
  }
  EXPECT_EQ(mem.Keys("index/"), (std::vector<std::string>{"index/a", "index/b"}));
  EXPECT_EQ(mem.Keys().size(), 4u);
  EXPECT_TRUE(mem.Keys("snapshots/").empty());
}

TEST(MemoryStoreTest, ObjectsAreCopiesNotViews) {
  MemoryStore mem;
  ObjectStore& s = mem;
  Bytes data = ToBytes("abc");
  ASSERT_TRUE(s.Put("k", data).ok());
  data[0] = 'X';
  auto got = s.Get("k");
  ASSERT_TRUE(got);
  (*got)[1] = 'Y';
  EXPECT_EQ(ToString(*s.Get("k")), "abc");
}

}  // namespace
}  // namespace cairn
