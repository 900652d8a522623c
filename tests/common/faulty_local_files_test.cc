// FaultyLocalFiles: each fault does what it says, through LocalFiles' real
// loops and errno mapping; the power-cut model keeps exactly what was
// synced; CrashAt fires at the right operation with a torn write.
#include "tests/support/faulty_local_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cairn {
namespace {

class FaultyLocalFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-faultyfiles-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void Put(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }
  bool Exists(const std::string& rel) const { return std::filesystem::exists(dir_ + "/" + rel); }
  // Creates (or rewrites) rel through disk_ with data; syncs if asked.
  void Write(const std::string& rel, std::string_view data, bool sync) {
    auto f = disk_.Open(dir_ + "/" + rel, OpenMode::kWrite);
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_TRUE(f->Truncate(0).ok());
    ASSERT_TRUE(f->PWrite(AsBytes(data), 0).ok());
    if (sync) {
      ASSERT_TRUE(f->Sync().ok());
    }
    ASSERT_TRUE(f->Close().ok());
  }
  std::string dir_;
  FaultyLocalFiles disk_;
};

TEST_F(FaultyLocalFilesTest, FailNthInjectsTheErrnoOfItsKind) {
  auto f = disk_.Open(dir_ + "/a", OpenMode::kCreateNew);
  ASSERT_TRUE(f);
  disk_.FailNth(FileOp::kWrite, 2, EIO);
  EXPECT_TRUE(f->PWrite(AsBytes(std::string_view("one")), 0).ok());
  Status s = f->PWrite(AsBytes(std::string_view("two")), 3);
  EXPECT_EQ(s.code(), ErrorCode::kIOError);
  EXPECT_NE(s.message().find("writing " + dir_ + "/a"), std::string::npos) << s.message();
  EXPECT_TRUE(f->PWrite(AsBytes(std::string_view("three")), 3).ok());  // only the 2nd
  disk_.FailNth(FileOp::kOpen, 1, ENOSPC);
  auto g = disk_.Open(dir_ + "/b", OpenMode::kCreateNew);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kNoSpace);
  EXPECT_FALSE(Exists("b"));  // an injected failure never reaches the disk
  disk_.FailNth(FileOp::kRename, 1, EACCES);
  EXPECT_EQ(disk_.Rename(dir_ + "/a", dir_ + "/c").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(disk_.InjectedFailures(), 3u);
  EXPECT_EQ(disk_.Calls(FileOp::kWrite), 3u);
  EXPECT_EQ(FileOpName(FileOp::kSyncDir), "syncdir");
}

TEST_F(FaultyLocalFilesTest, DiskFillsMidWrite) {
  disk_.NoSpaceAfter(10);
  auto f = disk_.Open(dir_ + "/a", OpenMode::kCreateNew);
  ASSERT_TRUE(f);
  Status s = f->PWrite(AsBytes(std::string_view("0123456789abcdefghij")), 0);
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace) << s.message();
  EXPECT_EQ(Slurp(dir_ + "/a"), "0123456789");  // what fitted landed
  EXPECT_EQ(disk_.BytesWritten(), 10u);
  disk_.ClearFaults();
  EXPECT_TRUE(f->PWrite(AsBytes(std::string_view("KLM")), 10).ok());
}

TEST_F(FaultyLocalFilesTest, ShortTransfersAreJoinedByTheCallersLoop) {
  disk_.ShortWrites(3);
  disk_.ShortReads(2);
  const std::string data = "the quick brown fox";
  auto f = disk_.Open(dir_ + "/a", OpenMode::kCreateNew);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->PWrite(AsBytes(data), 0).ok());
  EXPECT_EQ(disk_.Calls(FileOp::kWrite), 7u);  // ceil(19 / 3)
  auto r = disk_.Open(dir_ + "/a", OpenMode::kRead);
  ASSERT_TRUE(r);
  std::string got(data.size(), '\0');
  auto n = r->PRead(got.data(), got.size(), 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(got, data);
  EXPECT_EQ(disk_.Calls(FileOp::kRead), 10u);  // ceil(19 / 2)
}

TEST_F(FaultyLocalFilesTest, CrashAtTearsTheWriteItLandsOn) {
  auto f = disk_.Open(dir_ + "/a", OpenMode::kCreateNew);  // operation 1
  ASSERT_TRUE(f);
  std::string seen = "not called";
  disk_.CrashAt(3, [&] { seen = Slurp(dir_ + "/a"); });
  ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("abcd")), 0).ok());   // 2
  ASSERT_TRUE(f->PWrite(AsBytes(std::string_view("efghij")), 4).ok());  // 3: torn
  EXPECT_EQ(seen, "abcdefg");  // half of "efghij" had landed when it "crashed"
  EXPECT_EQ(disk_.TotalCalls(), 3u);
}

TEST_F(FaultyLocalFilesTest, PowerCutKeepsOnlyWhatWasSynced) {
  Put(dir_ + "/old", "original");
  ASSERT_TRUE(disk_.SyncDir(dir_).ok());  // nothing tracked yet: no effect
  ASSERT_TRUE(disk_.CreateDir(dir_ + "/sub").ok());
  Write("durable", "kept", true);
  ASSERT_TRUE(disk_.SyncDir(dir_).ok());              // "durable" is now
  Write("sub/file-only", "lost", true);               // fsynced, but its entry is not
  Write("unsynced", "lost", false);                   // neither
  Write("durable", "kept, then overwritten", false);  // back to "kept"
  Write("old", "overwritten", false);                 // back to "original"
  // Unlinked without a directory sync: comes back.
  Put(dir_ + "/gone", "resurrected");
  ASSERT_TRUE(disk_.Unlink(dir_ + "/gone").ok());
  disk_.DropUnsyncedData();
  EXPECT_FALSE(Exists("unsynced"));
  EXPECT_FALSE(Exists("sub/file-only"));
  EXPECT_TRUE(Exists("sub"));  // directories are not tracked
  EXPECT_EQ(Slurp(dir_ + "/durable"), "kept");
  EXPECT_EQ(Slurp(dir_ + "/old"), "original");
  EXPECT_EQ(Slurp(dir_ + "/gone"), "resurrected");
}

TEST_F(FaultyLocalFilesTest, PowerCutUndoesAnUnsyncedRename) {
  Put(dir_ + "/final", "v1");
  Write("tmp", "v2", true);  // the usual write-temp, fsync, rename
  ASSERT_TRUE(disk_.Rename(dir_ + "/tmp", dir_ + "/final").ok());
  disk_.DropUnsyncedData();  // no SyncDir: the rename is lost
  EXPECT_EQ(Slurp(dir_ + "/final"), "v1");
  EXPECT_FALSE(Exists("tmp"));

  Write("tmp", "v3", true);
  ASSERT_TRUE(disk_.Rename(dir_ + "/tmp", dir_ + "/final").ok());
  ASSERT_TRUE(disk_.SyncDir(dir_ + "/").ok());  // trailing slash: the same directory
  disk_.DropUnsyncedData();
  EXPECT_EQ(Slurp(dir_ + "/final"), "v3");
  EXPECT_FALSE(Exists("tmp"));
}

TEST_F(FaultyLocalFilesTest, CreatedFileWithoutSyncComesBackEmptyWhenItsEntryIsDurable) {
  Write("a", "data never fsynced", false);
  ASSERT_TRUE(disk_.SyncDir(dir_).ok());
  disk_.DropUnsyncedData();
  ASSERT_TRUE(Exists("a"));
  EXPECT_EQ(Slurp(dir_ + "/a"), "");
}

TEST_F(FaultyLocalFilesTest, PowerCutDropsUnsyncedWritesOfAReadWriteFile) {
  auto open_rw = [&](const std::string& rel) {
    auto f = disk_.Open(dir_ + "/" + rel, OpenMode::kReadWrite);
    EXPECT_TRUE(f) << f.error().message();
    return std::move(*f);
  };
  {
    LocalFile f = open_rw("synced");
    ASSERT_TRUE(f.PWrite(AsBytes(std::string_view("durable")), 0).ok());
    ASSERT_TRUE(f.DataSync().ok());
    ASSERT_TRUE(f.PWrite(AsBytes(std::string_view("DUR")), 0).ok());  // after the sync: lost
    LocalFile g = open_rw("unsynced");
    ASSERT_TRUE(g.PWrite(AsBytes(std::string_view("lost")), 0).ok());
  }
  Put(dir_ + "/existing", "before");
  ASSERT_TRUE(disk_.SyncDir(dir_).ok());
  {
    LocalFile h = open_rw("existing");  // existed before: counts as synced as it was
    ASSERT_TRUE(h.PWrite(AsBytes(std::string_view("AFTER!")), 0).ok());
    LocalFile g = open_rw("unsynced");
    ASSERT_TRUE(g.PWrite(AsBytes(std::string_view("more")), 4).ok());
  }
  disk_.DropUnsyncedData();
  EXPECT_EQ(Slurp(dir_ + "/synced"), "durable");
  EXPECT_EQ(Slurp(dir_ + "/existing"), "before");
  ASSERT_TRUE(Exists("unsynced"));  // its entry was synced, its data never was
  EXPECT_EQ(Slurp(dir_ + "/unsynced"), "");
}

}  // namespace
}  // namespace cairn
