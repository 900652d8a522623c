#include "tests/support/faulty_store.h"

#include <gtest/gtest.h>

#include "tests/support/memory_store.h"
#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

// A FaultyStore with no faults configured behaves like its base.
class PassThrough final : public ObjectStore {
 public:
  PassThrough() : faulty_(base_) {}
  Result<Bytes> Get(std::string_view k, uint64_t o, uint64_t l) override { return faulty_.Get(k, o, l); }
  Result<ObjectInfo> Head(std::string_view k) override { return faulty_.Head(k); }
  Status List(std::string_view p, const std::function<Status(const ObjectInfo&)>& fn) override {
    return faulty_.List(p, fn);
  }
  Status Put(std::string_view k, ByteView d, const PutOptions& o) override { return faulty_.Put(k, d, o); }
  Status Delete(std::string_view k) override { return faulty_.Delete(k); }
  std::string Describe() const override { return faulty_.Describe(); }

 private:
  MemoryStore base_;
  FaultyStore faulty_;
};

INSTANTIATE_TEST_SUITE_P(FaultyPassThrough, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"faulty", [] {
                           return std::unique_ptr<ObjectStore>(new PassThrough());
                         }}));

TEST(FaultyStoreTest, InjectsFaults) {
  MemoryStore base;
  FaultyStore faulty(base);
  ObjectStore& f = faulty;
  ASSERT_TRUE(f.Put("a", AsBytes("hello")).ok());
  faulty.FailNth(StoreOp::kGet, 2, Status::IOError("boom"));
  EXPECT_TRUE(f.Get("a").has_value());
  EXPECT_EQ(f.Get("a").error().code(), ErrorCode::kIOError);
  EXPECT_TRUE(f.Get("a").has_value());
  faulty.CorruptGets("a", 1);
  EXPECT_EQ(ToString(*f.Get("a")), "hdllo");
  faulty.TruncateGets("a", 2);
  EXPECT_EQ(f.Get("a")->size(), 2u);
  faulty.FailEvery(StoreOp::kHead, 2);
  EXPECT_TRUE(f.Head("a").has_value());
  EXPECT_EQ(f.Head("a").error().code(), ErrorCode::kTransient);
  faulty.NoSpaceAfter(3);
  EXPECT_EQ(f.Put("b", AsBytes("1234")).code(), ErrorCode::kNoSpace);
  EXPECT_EQ(faulty.Calls(StoreOp::kGet), 5u);
}

}  // namespace
}  // namespace cairn
