// Real kernel mounts of FuseMount inside the test process (root and
// /dev/fuse, else skipped): a session rooted at a subtree maps FUSE's root
// id, a writable tree's session is rw with OPEN/RELEASE, negative entries,
// fsync, fallocate, SETATTR for O_TRUNC and statfs through the tree, a
// read-only session keeps ENOSYS for OPEN and plain ENOENT, and every
// request is counted. The head/ session is mounted on the layout's "head"
// directory of the snapshot session, as `cairn mount` does.
#include "fs/fuse_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/archive_fs_fixture.h"
#include "tests/fs/fake_writable_tree.h"

namespace cairn {
namespace {

using namespace archive_fs_test;  // NOLINT: the fixture
using test::FakeWritableTree;

// One session served by a thread, as the mount daemon does.
struct Served {
  std::unique_ptr<FuseMount> mount;
  std::thread loop;
  void Stop() {
    if (!mount) return;
    mount->Stop();
    loop.join();
    mount.reset();
  }
  uint64_t Count(const std::string& op) const {
    auto counts = mount->RequestCounts();
    auto it = counts.find(op);
    return it == counts.end() ? 0 : it->second;
  }
  // Waits up to 5 s for op's count to reach n (RELEASE is sent after
  // close returns).
  uint64_t WaitCount(const std::string& op, uint64_t n) const {
    for (int i = 0; i < 500 && Count(op) < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Count(op);
  }
};

class FuseMountTest : public ArchiveFsTest {
 protected:
  void SetUp() override {
    ArchiveFsTest::SetUp();
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "needs root and /dev/fuse";
    }
  }
  void TearDown() override {
    // Sub-mounts first, as `cairn umount` does.
    for (auto it = served_.rbegin(); it != served_.rend(); ++it) (*it)->Stop();
    ArchiveFsTest::TearDown();
  }
  Served& Serve(ArchiveFs& fs, const std::string& dir, uint64_t root_ino) {
    FuseMountOptions o;
    o.mountpoint = dir;
    o.root_ino = root_ino;
    o.max_threads = 4;
    auto m = FuseMount::Mount(fs, o, log_);
    EXPECT_TRUE(m) << m.error().message();
    auto s = std::make_unique<Served>();
    if (m) {
      s->mount = std::move(*m);
      FuseMount* raw = s->mount.get();
      s->loop = std::thread([raw] { (void)raw->Run(); });
    }
    served_.push_back(std::move(s));
    return *served_.back();
  }
  // The per-mount options of the mount at dir ("ro,nosuid,..."), from
  // /proc/self/mountinfo.
  static std::string MountOptions(const std::string& dir) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string id, parent, dev, root, point, opts;
      f >> id >> parent >> dev >> root >> point >> opts;
      if (point == dir) return opts;
    }
    return "";
  }
  static std::vector<std::string> List(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    EXPECT_NE(d, nullptr) << dir;
    if (!d) return out;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string MakeDir(const std::string& name) {
    std::string d = root_ + "/" + name;
    EXPECT_EQ(mkdir(d.c_str(), 0755), 0);
    return d;
  }

  NullLogger log_;
  std::vector<std::unique_ptr<Served>> served_;
};

TEST_F(FuseMountTest, SessionRootedAtASubtreeMapsFusesRoot) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto sub = Walk(*m.fs, InSnap(s, "sub"));
  ASSERT_TRUE(sub);
  const std::string dir = MakeDir("mnt");
  Served& session = Serve(*m.fs, dir, sub->ino);
  ASSERT_TRUE(session.mount);
  EXPECT_EQ(MountOptions(dir).rfind("ro,", 0), 0u) << MountOptions(dir);
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_ino, 1u) << "the session's root is FUSE's 1";
  EXPECT_EQ(List(dir), (std::vector<std::string>{"big.bin", "deeper", "hardlink", "link"}));
  ASSERT_EQ(stat((dir + "/deeper").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, Walk(*m.fs, InSnap(s, "sub/deeper"))->ino) << "others keep their number";
  EXPECT_EQ(Slurp(dir + "/big.bin"), big_);
  EXPECT_EQ(Slurp(dir + "/deeper/one"), "x");
  EXPECT_EQ(Slurp(dir + "/hardlink"), "hello\n");
  // The first OPEN answered ENOSYS (counted); the kernel opened the other
  // files itself.
  EXPECT_EQ(session.Count("open"), 1u);
  EXPECT_GE(session.Count("read"), 1u);
  EXPECT_GE(session.Count("getattr") + session.Count("lookup"), 1u);
  // No negative entries in a snapshot session: each stat asks again.
  const uint64_t lookups = session.Count("lookup");
  EXPECT_NE(stat((dir + "/missing").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(stat((dir + "/missing").c_str(), &st), 0);
  EXPECT_EQ(session.Count("lookup"), lookups + 2);
  // Changes: EROFS from the kernel (ro).
  EXPECT_LT(open((dir + "/new").c_str(), O_CREAT | O_WRONLY, 0644), 0);
  EXPECT_EQ(errno, EROFS);
}

TEST_F(FuseMountTest, HeadSessionOnTheHeadDirectoryIsWritable) {
  Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees", 30e9, 1, /*head_dir=*/true);
  FakeWritableTree tree(*m.fs);
  m.fs->AttachTree(TreeKind::kHead, &tree);
  const std::string mnt = MakeDir("mnt");
  const std::string head_dir = mnt + "/head";
  Served& snapshots = Serve(*m.fs, mnt, ArchiveFs::kRootIno);
  ASSERT_TRUE(snapshots.mount);
  Served& head = Serve(*m.fs, head_dir, FakeWritableTree::kRootIno);
  ASSERT_TRUE(head.mount);
  EXPECT_EQ(MountOptions(mnt).rfind("ro,", 0), 0u) << MountOptions(mnt);
  EXPECT_EQ(MountOptions(head_dir).rfind("rw,", 0), 0u) << MountOptions(head_dir);
  EXPECT_EQ(List(mnt), (std::vector<std::string>{"head", "hosts", "series", "snapshots", "tags"}));
  struct stat st;
  ASSERT_EQ(stat(head_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, 1u);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0755u);

  // Negative entries: the second stat of a missing name is the kernel's.
  const uint64_t lookups = head.Count("lookup");
  EXPECT_NE(stat((head_dir + "/missing").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(stat((head_dir + "/missing").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(head.Count("lookup"), lookups + 1);

  // create, write, fsync, fdatasync, fallocate, ftruncate, close.
  const std::string f = head_dir + "/f";
  int fd = open(f.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "hello", 5), 5);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  EXPECT_EQ(fallocate(fd, 0, 0, 8192), 0) << strerror(errno);
  EXPECT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 8192);
  EXPECT_EQ(ftruncate(fd, 3), 0);
  EXPECT_EQ(close(fd), 0);
  FakeWritableTree::Record r = tree.record();
  EXPECT_EQ(r.fsyncs, 1);
  EXPECT_EQ(r.datasyncs, 1);
  EXPECT_EQ(r.fallocates, 1);
  ASSERT_FALSE(r.setattr_sizes.empty());
  EXPECT_EQ(r.setattr_sizes.back(), 3u);
  EXPECT_TRUE(r.setattr_had_file) << "ftruncate passes its open file";
  EXPECT_EQ(Slurp(f), "hel");
  // O_TRUNC is a SETATTR of size 0, not an open flag.
  fd = open(f.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0);
  r = tree.record();
  EXPECT_EQ(r.setattr_sizes.back(), 0u);
  ASSERT_FALSE(r.open_flags.empty());
  EXPECT_EQ(r.open_flags.back() & O_TRUNC, 0);
  EXPECT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);

  EXPECT_EQ(head.Count("create"), 1u);
  EXPECT_EQ(head.Count("write"), 1u);
  EXPECT_EQ(head.Count("fsync"), 2u);
  EXPECT_EQ(head.Count("fallocate"), 1u);
  // FLUSH is answered ENOSYS in every session: the kernel asks once, then
  // never again (several closes happened above).
  EXPECT_EQ(head.Count("flush"), 1u);
  EXPECT_GE(head.Count("open"), 2u) << "OPEN is never answered ENOSYS here";
  EXPECT_GE(head.WaitCount("release", 3), 3u);
  EXPECT_EQ(List(head_dir), (std::vector<std::string>{"f"}));
  EXPECT_GE(head.Count("opendir"), 1u);

  // statfs: the tree's space; the snapshot session keeps the repository's.
  struct statvfs v;
  ASSERT_EQ(statvfs(head_dir.c_str(), &v), 0);
  EXPECT_EQ(v.f_bsize, 4096u);
  EXPECT_EQ(v.f_blocks, tree.space.total / 4096);
  EXPECT_EQ(v.f_bavail, tree.space.available / 4096);
  EXPECT_EQ(v.f_files - v.f_ffree, 2u) << "root and f";
  ASSERT_EQ(statvfs(mnt.c_str(), &v), 0);
  EXPECT_EQ(v.f_bavail, 0u);

  // Two sessions are two file systems to the kernel.
  EXPECT_NE(rename(f.c_str(), (mnt + "/snapshots/f").c_str()), 0);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_EQ(head.Count("rename"), 0u);
  EXPECT_EQ(snapshots.Count("create"), 0u);
}

}  // namespace
}  // namespace cairn
