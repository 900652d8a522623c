// LocalSource on a scratch directory: listing, stat with and without
// following, symlinks, reading (holes included), excludes and file system
// boundaries, and the change-while-read check.
#include "repo/local_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cairn {
namespace {

class LocalSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-local-source-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(dir_ + "/" + rel, std::ios::binary) << data;
  }
  std::string ReadAll(SourceFile& f) {
    std::string out;
    uint8_t buf[5];  // small, so several reads are needed
    for (;;) {
      auto n = f.ReadAt(out.size(), buf);
      EXPECT_TRUE(n) << n.error().message();
      if (!n || *n == 0) return out;
      out.append(reinterpret_cast<const char*>(buf), *n);
    }
  }
  std::string dir_;
};

TEST_F(LocalSourceTest, ListsStatsAndReads) {
  Write("b.txt", "hello, source");
  Write("a", "");
  std::filesystem::create_directory(dir_ + "/sub");
  std::filesystem::create_symlink("b.txt", dir_ + "/link");
  LocalSource src;

  auto top = src.Stat(dir_, false);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->type, NodeType::kDir);
  auto names = src.List(dir_, *top);
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b.txt", "link", "sub"}));

  auto link = src.Stat(dir_ + "/link", false);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->type, NodeType::kSymlink);
  auto target = src.ReadLink(dir_ + "/link", *link);
  ASSERT_TRUE(target);
  EXPECT_EQ(*target, "b.txt");
  auto followed = src.Stat(dir_ + "/link", true);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->type, NodeType::kFile);

  const std::string path = dir_ + "/b.txt";
  auto info = src.Stat(path, false);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 13u);
  EXPECT_EQ(info->nlink, 1u);
  auto file = src.Open(path, *info);
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_EQ((*file)->info().inode, info->inode);
  EXPECT_EQ((*file)->limit(), 13u);
  EXPECT_FALSE((*file)->sparse());
  EXPECT_EQ(ReadAll(**file), "hello, source");
  EXPECT_FALSE((*file)->ChangedWhileRead(13));
  EXPECT_TRUE((*file)->ChangedWhileRead(12));  // fewer bytes than the size
}

TEST_F(LocalSourceTest, MissingEntriesAndNonFilesAreErrorsNamingThem) {
  LocalSource src;
  auto missing = src.Stat(dir_ + "/nope", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find(dir_ + "/nope"), std::string::npos);

  auto dir = src.Stat(dir_, false);
  ASSERT_TRUE(dir);
  auto opened = src.Open(dir_, *dir);  // a directory is not a regular file
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message().find("no longer a regular file"), std::string::npos);

  auto gone = src.Open(dir_ + "/nope", *dir);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(gone.error().message().find("opening " + dir_ + "/nope"), std::string::npos);
}

TEST_F(LocalSourceTest, SparseFileShowsItsHoles) {
  const std::string path = dir_ + "/sparse";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  const uint64_t data_at = 8 << 20;
  ASSERT_EQ(::pwrite(fd, "data", 4, static_cast<off_t>(data_at)), 4);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(16 << 20)), 0);
  ::close(fd);
  LocalSource src;
  auto info = src.Stat(path, false);
  ASSERT_TRUE(info);
  auto file = src.Open(path, *info);
  ASSERT_TRUE(file);
  if (!(*file)->sparse()) GTEST_SKIP() << "this file system stores no holes";
  auto data = (*file)->SeekData(0);
  ASSERT_TRUE(data);
  ASSERT_TRUE(data->has_value());
  EXPECT_LE(**data, data_at);
  EXPECT_GT(**data, 0u);
  auto hole = (*file)->SeekHole(**data);
  ASSERT_TRUE(hole);
  EXPECT_GT(*hole, data_at);
  auto end = (*file)->SeekEnd();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, uint64_t{16} << 20);
  auto none = (*file)->SeekData(*end);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(LocalSourceTest, ExcludesAndFileSystemBoundary) {
  LocalSourceOptions o;
  o.excludes = {"*.tmp", dir_ + "/cache"};
  o.one_file_system = true;
  LocalSource src(o);
  EXPECT_TRUE(src.Excluded(dir_ + "/x.tmp", "x.tmp"));
  EXPECT_TRUE(src.Excluded(dir_ + "/cache", "cache"));
  EXPECT_FALSE(src.Excluded(dir_ + "/x.txt", "x.txt"));
  EntryInfo dir;
  dir.type = NodeType::kDir;
  dir.device = 7;
  EXPECT_FALSE(src.SkipContents(dir, 7));
  EXPECT_TRUE(src.SkipContents(dir, 8));
  LocalSource everywhere;
  EXPECT_FALSE(everywhere.SkipContents(dir, 8));
  EXPECT_FALSE(everywhere.Excluded(dir_ + "/x.tmp", "x.tmp"));
}

TEST_F(LocalSourceTest, GrowingFileIsChangedWhileRead) {
  Write("log", "first");
  const std::string path = dir_ + "/log";
  LocalSource src;
  auto info = src.Stat(path, false);
  ASSERT_TRUE(info);
  auto file = src.Open(path, *info);
  ASSERT_TRUE(file);
  EXPECT_EQ(ReadAll(**file), "first");
  std::ofstream(path, std::ios::app) << " and more";
  EXPECT_TRUE((*file)->ChangedWhileRead(5));
}

// backup.cc compared the nanoseconds of ctime but not its seconds, so on a
// file system with whole-second timestamps (nanoseconds always 0) a ctime
// change during the read went unwarned.
TEST(FileChangedWhileReadTest, CtimeChangeOfWholeSecondsIsNoticed) {
  EntryInfo before;
  before.size = 10;
  before.mtime_ns = 1700000000LL * 1000000000;
  before.ctime_ns = 1700000000LL * 1000000000;
  EntryInfo after = before;
  EXPECT_FALSE(FileChangedWhileRead(before, after, 10));
  after.ctime_ns += 1000000000;  // one second later, same nanoseconds
  EXPECT_TRUE(FileChangedWhileRead(before, after, 10));
  after = before;
  after.mtime_ns += 2000000000;
  EXPECT_TRUE(FileChangedWhileRead(before, after, 10));
  after = before;
  after.size = 11;
  EXPECT_TRUE(FileChangedWhileRead(before, after, 10));
}

TEST(EntryInfoFromStatTest, TimesAreWholeNanoseconds) {
  struct stat st {};
  st.st_mode = S_IFREG | 0640;
  st.st_size = 3;
  st.st_mtim = timespec{1700000000, 5};
  st.st_ctim = timespec{1700000001, 5};
  st.st_atim = timespec{-1, 999999999};
  auto info = EntryInfoFromStat(st);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->type, NodeType::kFile);
  EXPECT_EQ(info->mode, 0640u);
  EXPECT_EQ(info->mtime_ns, 1700000000000000005);
  EXPECT_EQ(info->ctime_ns, 1700000001000000005);
  EXPECT_EQ(info->atime_ns, -1);
  st.st_mode = 0;  // no type
  EXPECT_FALSE(EntryInfoFromStat(st));
}

}  // namespace
}  // namespace cairn
