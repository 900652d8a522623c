#include "backend/open_store.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(OpenStoreTest, Locations) {
  StoreOptions o;
  auto a = OpenStore("/tmp/x", o);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)->Describe(), "/tmp/x");
  auto b = OpenStore("file:///tmp/y", o);
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)->Describe(), "/tmp/y");
  EXPECT_EQ(OpenStore("file://relative", o).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("ftp://host/x", o).error().code(), ErrorCode::kInvalidArgument);
  auto rel = OpenStore("some/dir", o);
  ASSERT_TRUE(rel);
  EXPECT_EQ((*rel)->Describe()[0], '/');
}

TEST(OpenStoreTest, ReadOnlyRefusesWrites) {
  StoreOptions o;
  o.read_only = true;
  auto s = OpenStore("/tmp/cairn-ro-test-never-created", o);
  ASSERT_TRUE(s);
  Status put = (*s)->Put("config", AsBytes("x"));
  EXPECT_EQ(put.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(put.message().find("read-only"), std::string::npos);
  EXPECT_EQ((*s)->Delete("config").code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace cairn
