#include "backend/open_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

// The composed store (LocalDirStore inside RetryingStore) keeps the contract.
std::unique_ptr<ObjectStore> MakeFileUriStore() {
  std::string dir = MakeTempDir("open");
  auto store = OpenStore("file://" + dir + "/repo", StoreOptions{});
  if (!store) {
    ADD_FAILURE() << store.error().message();
    return nullptr;
  }
  return std::make_unique<DirOwningStore>(std::move(*store), dir);
}

INSTANTIATE_TEST_SUITE_P(OpenStoreFileUri, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"file_uri", MakeFileUriStore}),
                         StoreFactoryName());

// The whole read-only stack OpenStore composes for restore, check and mount
// (a download limit included) over a directory another store writes to.
ReadOnlyStores MakeReadOnlyOpenStore() {
  ReadOnlyStores s;
  std::string dir = MakeTempDir("open");
  auto rw = OpenStore(dir + "/repo", StoreOptions{});
  StoreOptions o;
  o.read_only = true;
  o.limit_download_kib = 1 << 20;
  auto ro = OpenStore(dir + "/repo", o);
  if (!rw || !ro) {
    ADD_FAILURE() << "OpenStore failed";
    return s;
  }
  s.writable = std::make_unique<DirOwningStore>(std::move(*rw), dir);
  s.read_only = std::move(*ro);
  return s;
}

INSTANTIATE_TEST_SUITE_P(OpenStoreReadOnly, ReadOnlyStoreConformanceTest,
                         ::testing::Values(ReadOnlyStoreFactory{"file", MakeReadOnlyOpenStore}),
                         StoreFactoryName());

std::string DescribeOf(const std::string& location) {
  auto s = OpenStore(location, StoreOptions{});
  if (!s) return "error: " + s.error().message();
  return (*s)->Describe();
}

Status ErrorOf(const std::string& location) {
  auto s = OpenStore(location, StoreOptions{});
  return s ? Status::OK() : s.error();
}

TEST(OpenStoreTest, PathsAndFileUris) {
  EXPECT_EQ(DescribeOf("/srv/backup"), "/srv/backup");
  EXPECT_EQ(DescribeOf("/srv/backup/"), "/srv/backup");
  EXPECT_EQ(DescribeOf("file:///srv/backup"), "/srv/backup");
  EXPECT_EQ(DescribeOf("FILE:///srv/backup"), "/srv/backup");
  EXPECT_EQ(DescribeOf("file://localhost/srv/backup"), "/srv/backup");
  EXPECT_EQ(DescribeOf("file:///srv/my%20backup"), "/srv/my backup");
}

TEST(OpenStoreTest, RelativePathsBecomeAbsolute) {
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(DescribeOf("some/dir"), cwd + "/some/dir");
  EXPECT_EQ(DescribeOf("./a/../b"), cwd + "/b");
}

TEST(OpenStoreTest, OpeningCreatesNothing) {
  std::string dir = MakeTempDir("open");
  auto s = OpenStore(dir + "/repo", StoreOptions{});
  ASSERT_TRUE(s);
  EXPECT_FALSE(fs::exists(dir + "/repo"));
  fs::remove_all(dir);
}

TEST(OpenStoreTest, BadLocationsAreInvalidArguments) {
  Status rel = ErrorOf("file://relative/path");
  EXPECT_EQ(rel.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(rel.message().find("absolute path"), std::string::npos) << rel.message();
  EXPECT_EQ(ErrorOf("file://").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf("file:///bad%zzescape").code(), ErrorCode::kInvalidArgument);
  Status empty = ErrorOf("");
  EXPECT_EQ(empty.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("file:///"), std::string::npos) << empty.message();
}

TEST(OpenStoreTest, S3LocationsOpenWithoutTouchingTheNetwork) {
  setenv("AWS_ACCESS_KEY_ID", "AKTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret", 1);
  EXPECT_EQ(DescribeOf("s3://bucket/prefix?endpoint=http://127.0.0.1:1"), "s3://bucket/prefix");
  EXPECT_EQ(DescribeOf("S3://my.bucket"), "s3://my.bucket");
  Status bad = ErrorOf("s3://Bad_Bucket/p");
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("bucket name"), std::string::npos) << bad.message();
  // Nothing reachable there: the first request fails, and Transient is
  // what RetryingStore retries until its budget is spent.
  StoreOptions quick;
  quick.max_retries = 1;
  quick.retry_base_delay_ms = 1;
  quick.connect_timeout_ms = 500;
  auto s = OpenStore("s3://bucket/p?endpoint=http://127.0.0.1:1", quick);
  ASSERT_TRUE(s) << s.error().message();
  auto h = (*s)->Head("config");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kTransient) << h.error().message();
  EXPECT_NE(h.error().message().find("gave up after 2 attempts"), std::string::npos);
  EXPECT_EQ(h.error().message().find("not-a-real-secret"), std::string::npos);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST(OpenStoreTest, UnknownSchemesNameTheSupportedForms) {
  for (const char* loc : {"ftp://host/x", "http://host/x", "sftp://host/x", "S4://x"}) {
    Status st = ErrorOf(loc);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << loc;
    EXPECT_NE(st.message().find("unknown scheme"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("file:///"), std::string::npos) << st.message();
  }
}

// restic's forms were taken as relative paths: `init sftp:host:/x` made a
// local directory "sftp:host:".
TEST(OpenStoreTest, ResticStyleLocationsAreRefused) {
  for (const char* loc : {"sftp:host:/srv/x", "rest:http://host:8000/", "b2:bucket:path",
                          "azure:container:/p", "gs:bucket:/p", "swift:container:/p",
                          "rclone:remote:path", "s3:s3.amazonaws.com/bucket"}) {
    Status st = ErrorOf(loc);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << loc;
    const std::string word = std::string(loc).substr(0, std::string(loc).find(':'));
    EXPECT_EQ(st.message(), "repository " + std::string(loc) + ": \"" + word +
                                ":\" locations are restic's; cairn supports a directory path, "
                                "file:///absolute/path or s3://bucket/prefix (for a local "
                                "directory with this name, write ./" + loc + ")");
  }
  // Other names with a colon stay relative paths.
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(DescribeOf("./sftp:host:/x"), cwd + "/sftp:host:/x");
  EXPECT_EQ(DescribeOf("backup:2024"), cwd + "/backup:2024");
  EXPECT_EQ(DescribeOf("dir/sftp:x"), cwd + "/dir/sftp:x");
}

TEST(OpenStoreTest, ReadOnlyRefusesWritesButReads) {
  std::string dir = MakeTempDir("open");
  {
    auto rw = OpenStore(dir, StoreOptions{});
    ASSERT_TRUE(rw);
    ASSERT_TRUE((*rw)->Put("config", AsBytes("c"), PutOptions{}).ok());
  }
  StoreOptions o;
  o.read_only = true;
  auto ro = OpenStore(dir, o);
  ASSERT_TRUE(ro);
  ObjectStore& s = **ro;
  EXPECT_EQ(s.Describe(), dir);
  Status put = s.Put("index/x", AsBytes("x"));
  EXPECT_EQ(put.code(), ErrorCode::kReadOnly);
  EXPECT_EQ(put.message().rfind(dir + ": repository opened read-only", 0), 0u) << put.message();
  EXPECT_NE(put.message().find("index/x"), std::string::npos) << put.message();
  EXPECT_EQ(s.Delete("config").code(), ErrorCode::kReadOnly);
  EXPECT_EQ(s.SetRetention("config", LockMode::kCompliance, 1).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(s.RequestRestore("config", 1).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(ToString(*s.Get("config")), "c");
  EXPECT_EQ(s.Head("config")->size, 1u);
  size_t listed = 0;
  EXPECT_TRUE(s.List("", [&](const ObjectInfo&) {
                 ++listed;
                 return Status::OK();
               }).ok());
  EXPECT_EQ(listed, 1u);
  EXPECT_FALSE(fs::exists(dir + "/index")) << "nothing was written";
  fs::remove_all(dir);
}

// The traits tools/ reads to size its threads and caches come from the base
// store through every wrapper OpenStore puts around it.
TEST(OpenStoreTest, TraitsAreTheBaseStoresThroughEveryWrapper) {
  StoreOptions o;
  o.read_only = true;
  o.limit_upload_kib = 100;
  o.limit_download_kib = 100;
  o.connections = 3;
  auto local = OpenStore("/srv/backup", o);
  ASSERT_TRUE(local) << local.error().message();
  const StoreTraits l = (*local)->Traits();
  EXPECT_FALSE(l.remote());
  EXPECT_EQ(l.connections, 0u) << "a local directory keeps the callers' own thread counts";
  EXPECT_FALSE(l.object_lock || l.storage_classes || l.archive_restore);

  setenv("AWS_ACCESS_KEY_ID", "AKTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret", 1);
  auto s3 = OpenStore("s3://bucket/prefix?endpoint=http://127.0.0.1:1", o);
  ASSERT_TRUE(s3) << s3.error().message();
  const StoreTraits r = (*s3)->Traits();
  EXPECT_TRUE(r.remote());
  EXPECT_EQ(r.connections, 3u);
  EXPECT_TRUE(r.object_lock && r.storage_classes && r.archive_restore);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

}  // namespace
}  // namespace cairn
