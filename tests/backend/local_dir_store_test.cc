#include "backend/local_dir_store.h"

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/store_conformance.h"

namespace cairn {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/cairn-store-XXXXXX";
  return mkdtemp(tmpl);
}

INSTANTIATE_TEST_SUITE_P(LocalDir, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"localdir", [] {
                           return std::unique_ptr<ObjectStore>(new LocalDirStore(TempDir()));
                         }}));

class LocalDirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t CountFiles() {
    size_t n = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_)) n += e.is_regular_file();
    return n;
  }
  std::string dir_;
};

TEST_F(LocalDirStoreTest, PutLeavesNoTemporaryFiles) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  ASSERT_TRUE(s.Put("packs/ab/abcd", AsBytes("data")).ok());
  PutOptions once;
  once.if_not_exists = true;
  EXPECT_EQ(s.Put("packs/ab/abcd", AsBytes("other"), once).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(CountFiles(), 1u);
}

TEST_F(LocalDirStoreTest, TemporaryFilesAreInvisible) {
  LocalDirStore store(dir_);
  ObjectStore& s = store;
  std::filesystem::create_directories(dir_ + "/index");
  FILE* f = fopen((dir_ + "/index/.tmp-123").c_str(), "w");
  fputs("partial", f);
  fclose(f);
  ASSERT_TRUE(s.Put("index/real", AsBytes("x")).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(s.List("index/", [&](const ObjectInfo& i) {
    keys.push_back(i.key);
    return Status::OK();
  }).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"index/real"});
}

TEST_F(LocalDirStoreTest, DiskFullIsNoSpace) {
  ASSERT_EQ(geteuid(), 0u) << "this test mounts a tmpfs and needs root";
  std::string mnt = dir_ + "/small";
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k"), 0) << strerror(errno);
  LocalDirStore store(mnt);
  ObjectStore& s = store;
  Bytes big(1 << 20, 7);
  Status st = s.Put("packs/00/big", big);
  EXPECT_EQ(st.code(), ErrorCode::kNoSpace) << st.message();
  EXPECT_NE(st.message().find(mnt + "/packs/00/big"), std::string::npos) << st.message();
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(mnt)) files += e.is_regular_file();
  EXPECT_EQ(files, 0u) << "the failed put left a file behind";
  umount(mnt.c_str());
}

TEST_F(LocalDirStoreTest, MissingRootIsNotFound) {
  LocalDirStore store(dir_ + "/does/not/exist");
  ObjectStore& s = store;
  EXPECT_EQ(s.Get("config").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(s.List("", [](const ObjectInfo&) { return Status::OK(); }).ok());
}

}  // namespace
}  // namespace cairn
