// LocalFiles::Posix() against its contract (open modes, full reads and
// writes, sync, truncate, rename, unlink, directories, statfs, messages),
// and LocalFilesWrapper forwarding what a wrapper does not override.
#include "common/local_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cairn {
namespace {

class LocalFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-localfiles-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string dir_;
  LocalFiles& files_ = LocalFiles::Posix();
};

TEST_F(LocalFilesTest, WriteSyncReadTruncateRoundTrip) {
  const std::string path = dir_ + "/a";
  auto f = files_.Open(path, OpenMode::kCreateNew);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->path(), path);
  EXPECT_TRUE(f->is_open());
  ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("hello world")), 0).ok());
  ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("HELLO")), 100).ok());  // leaves a hole
  EXPECT_TRUE(f->DataSync().ok());
  EXPECT_TRUE(f->Sync().ok());
  EXPECT_TRUE(f->Truncate(105).ok());
  EXPECT_TRUE(f->Close().ok());
  EXPECT_FALSE(f->is_open());
  EXPECT_TRUE(f->Close().ok());  // closing twice is harmless

  auto r = files_.Open(path, OpenMode::kRead);
  ASSERT_TRUE(r);
  char buf[200];
  auto n = r->PRead(buf, sizeof(buf), 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 105u);  // short only at the end of the file
  EXPECT_EQ(std::string(buf, 11), "hello world");
  EXPECT_EQ(buf[50], '\0');
  EXPECT_EQ(std::string(buf + 100, 5), "HELLO");

  // kWrite keeps what is there.
  auto w = files_.Open(path, OpenMode::kWrite);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->PWrite(AsBytes(std::string_view("J")), 0).ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(Slurp(path).substr(0, 5), "Jello");
}

TEST_F(LocalFilesTest, CreateNewRefusesExistingNamesAndSymlinks) {
  const std::string path = dir_ + "/a";
  ASSERT_TRUE(files_.Open(path, OpenMode::kCreateNew));
  auto again = files_.Open(path, OpenMode::kCreateNew);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message().find("creating " + path), std::string::npos);
  // A dangling symlink is not followed.
  ASSERT_EQ(::symlink((dir_ + "/target").c_str(), (dir_ + "/link").c_str()), 0);
  auto link = files_.Open(dir_ + "/link", OpenMode::kCreateNew);
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/target"));
}

TEST_F(LocalFilesTest, ReadWriteCreatesKeepsContentsAndRefusesSymlinks) {
  const std::string path = dir_ + "/rw";
  {
    auto f = files_.Open(path, OpenMode::kReadWrite);  // missing: created
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("abcdef")), 0).ok());
    char buf[6];
    auto n = f->PRead(buf, sizeof(buf), 0);  // the same handle reads back
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, *n), "abcdef");
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  {
    auto f = files_.Open(path, OpenMode::kReadWrite);  // exists: contents kept
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("X")), 2).ok());
    ASSERT_TRUE(f->Truncate(4).ok());
  }
  EXPECT_EQ(Slurp(path), "abXd");
  // A symlink at the last component is not followed, dangling or not.
  ASSERT_EQ(::symlink(path.c_str(), (dir_ + "/link").c_str()), 0);
  ASSERT_EQ(::symlink((dir_ + "/target").c_str(), (dir_ + "/dangling").c_str()), 0);
  for (const char* name : {"/link", "/dangling"}) {
    auto link = files_.Open(dir_ + name, OpenMode::kReadWrite);
    ASSERT_FALSE(link) << name;
    EXPECT_EQ(link.error().code(), ErrorCode::kIOError) << link.error().message();
    EXPECT_NE(link.error().message().find("creating " + dir_ + name), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/target"));
  EXPECT_EQ(Slurp(path), "abXd");
}

TEST_F(LocalFilesTest, NamespaceOperations) {
  auto missing = files_.Open(dir_ + "/none", OpenMode::kRead);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("opening " + dir_ + "/none"), std::string::npos);

  ASSERT_TRUE(files_.CreateDir(dir_ + "/d").ok());
  EXPECT_TRUE(files_.CreateDir(dir_ + "/d").ok());  // exists: fine
  EXPECT_EQ(files_.CreateDir(dir_ + "/x/y").code(), ErrorCode::kNotFound);
  ASSERT_TRUE(files_.Open(dir_ + "/d/tmp", OpenMode::kCreateNew));
  ASSERT_TRUE(files_.Rename(dir_ + "/d/tmp", dir_ + "/d/final").ok());
  EXPECT_TRUE(files_.SyncDir(dir_ + "/d").ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/d/final"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/d/tmp"));
  Status rn = files_.Rename(dir_ + "/d/tmp", dir_ + "/d/other");
  EXPECT_EQ(rn.code(), ErrorCode::kNotFound);
  EXPECT_NE(rn.message().find(dir_ + "/d/tmp"), std::string::npos) << rn.message();
  EXPECT_TRUE(files_.Unlink(dir_ + "/d/final").ok());
  EXPECT_EQ(files_.Unlink(dir_ + "/d/final").code(), ErrorCode::kNotFound);
  EXPECT_EQ(files_.SyncDir(dir_ + "/nodir").code(), ErrorCode::kNotFound);

  auto space = files_.StatFs(dir_);
  ASSERT_TRUE(space);
  EXPECT_GT(space->total, 0u);
  EXPECT_LE(space->available, space->total);
  EXPECT_FALSE(files_.StatFs(dir_ + "/nodir"));
}

// Overrides one primitive; everything else must still work.
class CountingReads final : public LocalFilesWrapper {
 public:
  using LocalFilesWrapper::LocalFilesWrapper;
  int reads = 0;

 protected:
  int DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) override {
    ++reads;
    return LocalFilesWrapper::DoPRead(fd, buf, n < 4 ? n : 4, offset, moved);  // short reads
  }
};

TEST_F(LocalFilesTest, WrapperForwardsWhatItDoesNotOverride) {
  CountingReads counting(files_);
  EXPECT_EQ(&counting.target(), &files_);
  const std::string path = dir_ + "/w";
  {
    auto f = counting.Open(path, OpenMode::kCreateNew);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("0123456789")), 0).ok());
  }
  auto r = counting.Open(path, OpenMode::kRead);
  ASSERT_TRUE(r);
  char buf[10];
  auto n = r->PRead(buf, sizeof(buf), 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 10u);
  EXPECT_EQ(std::string(buf, 10), "0123456789");
  EXPECT_EQ(counting.reads, 3);  // 4 + 4 + 2: the loop joined the short reads
  EXPECT_TRUE(counting.Unlink(path).ok());
}

}  // namespace
}  // namespace cairn
