// Round-trip property test: generated trees with every entry type and the
// awkward cases (odd names, boundary sizes, sparse files, hardlinks, xattrs,
// ACLs, odd modes and times) -> backup -> restore -> identical in content
// and all metadata, checked by CompareTrees.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "backend/open_store.h"
#include "repo/backup.h"
#include "repo/restore.h"
#include "tests/support/tree_compare.h"

namespace cairn {
namespace {

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/cairn-roundtrip-XXXXXX";  // not tmpfs: real sparse files
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void WriteFile(const std::string& rel, const std::string& data) {
    int fd = open((src_ + "/" + rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << rel;
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }
  std::string Random(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }
  void SetTimes(const std::string& rel, int64_t atime_ns, int64_t mtime_ns) {
    timespec ts[2] = {{atime_ns / 1000000000, atime_ns % 1000000000},
                      {mtime_ns / 1000000000, mtime_ns % 1000000000}};
    for (auto& t : ts) {
      if (t.tv_nsec < 0) {
        t.tv_nsec += 1000000000;
        --t.tv_sec;
      }
    }
    ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/" + rel).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << rel;
  }

  // Backs src_ up into a fresh local repository and restores it; returns
  // the differences between src_ and the restored copy.
  std::vector<std::string> BackupAndRestore(uint64_t* skipped = nullptr) {
    StoreOptions so;
    auto store = OpenStore(root_ + "/repo", so);
    EXPECT_TRUE(store);
    InitOptions init;
    init.kdf.n = 1 << 10;  // fast for tests
    OpenOptions open;
    open.cache_dir = root_ + "/cache";
    auto repo = Repository::Init(std::move(*store), "pw", init, open);
    EXPECT_TRUE(repo) << repo.error().message();
    BackupOptions bo;
    bo.paths = {src_};
    auto result = RunBackup(**repo, bo, nullptr, nullptr, nullptr);
    EXPECT_TRUE(result) << result.error().message();
    if (skipped) *skipped = result->skipped;
    RestoreOptions ro;
    ro.target = root_ + "/restore";
    auto st = RunRestore(**repo, result->snapshot, ro, nullptr, nullptr, nullptr);
    EXPECT_TRUE(st) << st.error().message();
    EXPECT_EQ(st->failed, 0u);
    testing::CompareOptions co;
    return testing::CompareTrees(src_, root_ + "/restore" + src_, co);
  }

  std::string root_, src_;
};

TEST_F(RoundTripTest, EveryEntryTypeAndAwkwardCase) {
  // Names: spaces, newline, non-UTF-8 bytes, 255 bytes, leading dash and dot.
  WriteFile("with space", "a");
  WriteFile("new\nline", "b");
  WriteFile(std::string("bad-\xff\xfe-utf8"), "c");
  WriteFile(std::string(255, 'n'), "d");
  WriteFile("-dash", "e");
  WriteFile(".hidden", "f");
  // Sizes: 0, 1, around the chunker's min (512 KiB) and max (8 MiB).
  WriteFile("size0", "");
  WriteFile("size1", "1");
  for (long delta : {-1L, 0L, 1L}) {
    WriteFile("min" + std::to_string(delta), Random(512 * 1024 + delta, 1 + delta));
    WriteFile("max" + std::to_string(delta), Random(8 * 1024 * 1024 + delta, 7 + delta));
  }
  WriteFile("compressible", std::string(3 * 1024 * 1024, 'z'));
  // Sparse: a 4 GiB file with data at the start, the middle and the end,
  // and one that is all hole.
  {
    int fd = open((src_ + "/sparse").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    std::string blk = Random(65536, 99);
    ASSERT_EQ(pwrite(fd, blk.data(), blk.size(), 0), 65536);
    ASSERT_EQ(pwrite(fd, blk.data(), blk.size(), off_t{2} << 30), 65536);
    ASSERT_EQ(ftruncate(fd, off_t{4} << 30), 0);
    ASSERT_EQ(pwrite(fd, blk.data(), 100, (off_t{4} << 30) - 100), 100);
    close(fd);
    fd = open((src_ + "/allhole").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_EQ(ftruncate(fd, 10 << 20), 0);
    close(fd);
  }
  // Hardlinks (a group of three, one in another directory).
  ASSERT_EQ(mkdir((src_ + "/dir").c_str(), 0750), 0);
  WriteFile("linked", "shared content");
  ASSERT_EQ(link((src_ + "/linked").c_str(), (src_ + "/linked2").c_str()), 0);
  ASSERT_EQ(link((src_ + "/linked").c_str(), (src_ + "/dir/linked3").c_str()), 0);
  // Symlinks: relative, absolute, dangling, to a non-UTF-8 name.
  ASSERT_EQ(symlink("size1", (src_ + "/link-rel").c_str()), 0);
  ASSERT_EQ(symlink("/nonexistent/target", (src_ + "/link-dangling").c_str()), 0);
  ASSERT_EQ(symlink("bad-\xff\xfe-utf8", (src_ + "/link-bytes").c_str()), 0);
  // Special files.
  ASSERT_EQ(mkfifo((src_ + "/fifo").c_str(), 0640), 0);
  {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string p = src_ + "/sock";
    ASSERT_LT(p.size(), sizeof(addr.sun_path));
    memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(s);
  }
  if (geteuid() == 0) {
    ASSERT_EQ(mknod((src_ + "/chardev").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
    ASSERT_EQ(mknod((src_ + "/blockdev").c_str(), S_IFBLK | 0600, makedev(7, 42)), 0);
  }
  // Xattrs (binary value) and a POSIX ACL.
  WriteFile("xattrs", "x");
  std::string bin("\0\x01\xff", 3);
  ASSERT_EQ(setxattr((src_ + "/xattrs").c_str(), "user.bin", bin.data(), bin.size(), 0), 0);
  ASSERT_EQ(setxattr((src_ + "/xattrs").c_str(), "user.empty", "", 0, 0), 0);
  ASSERT_EQ(setxattr((src_ + "/dir").c_str(), "user.onadir", "yes", 3, 0), 0);
  {
    // system.posix_acl_access, version 2: user::rw-, user:1234:r--, group::r--, mask::r--, other::---
    const uint8_t acl[] = {2, 0, 0, 0,                              // version
                           1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,      // ACL_USER_OBJ rw-
                           2, 0, 4, 0, 0xd2, 0x04, 0, 0,            // ACL_USER 1234 r--
                           4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,      // ACL_GROUP_OBJ r--
                           0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,   // ACL_MASK r--
                           0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};  // ACL_OTHER ---
    WriteFile("acl", "acl");
    ASSERT_EQ(setxattr((src_ + "/acl").c_str(), "system.posix_acl_access", acl, sizeof(acl), 0), 0)
        << strerror(errno);
  }
  // Odd modes and owners.
  WriteFile("setuid", "s");
  ASSERT_EQ(chmod((src_ + "/setuid").c_str(), 04755), 0);
  WriteFile("setgid", "s");
  ASSERT_EQ(chmod((src_ + "/setgid").c_str(), 02711), 0);
  ASSERT_EQ(mkdir((src_ + "/sticky").c_str(), 01777), 0);
  ASSERT_EQ(chmod((src_ + "/sticky").c_str(), 01777), 0);
  WriteFile("nomode", "0");
  ASSERT_EQ(chmod((src_ + "/nomode").c_str(), 0), 0);
  if (geteuid() == 0) {
    WriteFile("owned", "o");
    ASSERT_EQ(chown((src_ + "/owned").c_str(), 4242, 4343), 0);  // no such user: numeric ids
  }
  // Odd times: before 1970, far future, nanoseconds; on a file, a link, a dir.
  SetTimes("size0", -86400LL * 365 * 1000000000 + 123, 1000000001);
  SetTimes("size1", 4102444800LL * 1000000000 + 999999999, 4102444800LL * 1000000000 + 5);
  SetTimes("link-rel", 1234567890123456789LL, 1234567890987654321LL);
  // An empty directory and a deep one.
  ASSERT_EQ(mkdir((src_ + "/empty").c_str(), 0700), 0);
  std::string deep = src_;
  for (int i = 0; i < 30; ++i) {
    deep += "/d" + std::to_string(i);
    ASSERT_EQ(mkdir(deep.c_str(), 0755), 0);
  }
  SetTimes("dir", 1500000000000000000LL, 1500000000000000001LL);
  SetTimes("empty", 1600000000000000000LL, 1600000000000000001LL);

  uint64_t skipped = 0;
  auto diffs = BackupAndRestore(&skipped);
  EXPECT_EQ(skipped, 0u);
  for (const auto& d : diffs) ADD_FAILURE() << d;
}

TEST_F(RoundTripTest, ManyFilesInOneDirectorySplitTree) {
  // More entries than one tree blob holds (kSingleLeafMax = 8192).
  for (int i = 0; i < 20000; ++i) {
    WriteFile("f" + std::to_string(i), std::to_string(i % 97));
  }
  auto diffs = BackupAndRestore();
  for (const auto& d : diffs) ADD_FAILURE() << d;
}

}  // namespace
}  // namespace cairn
