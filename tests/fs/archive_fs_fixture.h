// The ArchiveFs test fixture: a source tree (a file, a 3 MiB file, a
// symlink, a hardlink, a fifo, a sparse file, xattrs) backed up into a
// MemoryStore repository, and ArchiveFs instances over it as one mount of it
// would have (archive_fs_test.cc, archive_fs_read_test.cc).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fs/archive_fs.h"
#include "repo/backup.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"
#include "tests/support/test_data.h"

namespace cairn::archive_fs_test {

using Borrowed = BorrowedStore;

// One ArchiveFs over a repository, as one mount of it would be.
struct Mounted {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<TreeCache> trees;
  std::unique_ptr<ContentReader> reader;
  std::unique_ptr<ArchiveFs> fs;
};

class ArchiveFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-fs-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_ + "/sub/deeper");
    Write("hello.txt", "hello\n");
    big_ = test::RandomString(3 << 20, 1);
    Write("sub/big.bin", big_);
    Write("sub/deeper/one", "x");
    symlink("../hello.txt", (src_ + "/sub/link").c_str());
    link((src_ + "/hello.txt").c_str(), (src_ + "/sub/hardlink").c_str());
    mkfifo((src_ + "/fifo").c_str(), 0640);
    int fd = open((src_ + "/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    EXPECT_EQ(pwrite(fd, "end", 3, 5 << 20), 3);
    close(fd);
    chmod((src_ + "/sub/deeper/one").c_str(), 0600);
    xattrs_ = setxattr((src_ + "/hello.txt").c_str(), "user.comment", "hi", 2, 0) == 0;
    InitOptions init;
    init.kdf.n = 1 << 10;
    auto r = Repository::Init(std::make_unique<Borrowed>(store_), "pw", init, Options());
    ASSERT_TRUE(r) << r.error().message();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary) << data;
  }
  OpenOptions Options() {
    OpenOptions o;
    o.cache_dir = root_ + "/cache";
    return o;
  }
  Snapshot Backup(ObjectStore& store) {
    auto repo = Repository::Open(std::make_unique<Borrowed>(store), "pw", Options());
    EXPECT_TRUE(repo) << repo.error().message();
    BackupOptions o;
    o.paths = {src_};
    auto b = RunBackup(**repo, o, nullptr, nullptr, nullptr);
    EXPECT_TRUE(b) << b.error().message();
    return b->snapshot;
  }
  Mounted Mount(ObjectStore& store, const std::string& trees_dir, int64_t refresh_ns = 30e9,
                size_t prefetch_threads = 1, bool head_dir = false) {
    Mounted m;
    auto repo = Repository::Open(std::make_unique<Borrowed>(store), "pw", Options());
    EXPECT_TRUE(repo) << repo.error().message();
    m.repo = std::move(*repo);
    auto trees = TreeCache::Open(trees_dir);
    EXPECT_TRUE(trees) << trees.error().message();
    m.trees = std::move(*trees);
    m.reader = std::make_unique<ContentReader>(*m.repo, nullptr, ContentReaderOptions{});
    ArchiveFsOptions fo;
    fo.refresh_interval_ns = refresh_ns;
    fo.prefetch_threads = prefetch_threads;
    fo.head_dir = head_dir;
    auto fs = ArchiveFs::Create(*m.repo, *m.trees, *m.reader, fo);
    EXPECT_TRUE(fs) << fs.error().message();
    m.fs = std::move(*fs);
    return m;
  }

  // Inode of a '/'-separated path from the mount root.
  static Result<FsAttr> Walk(ArchiveFs& fs, const std::string& path) {
    FsAttr a;
    a.ino = ArchiveFs::kRootIno;
    for (const auto& part : std::filesystem::path(path)) {
      if (part.empty() || part == "/") continue;
      CAIRN_ASSIGN_OR_RETURN(a, fs.Lookup(a.ino, part.string()));
    }
    return a;
  }
  // Path of a source file inside the snapshot's directory.
  std::string InSnap(const Snapshot& s, const std::string& rel) {
    return "snapshots/" + SnapshotDirName(s) + src_ + "/" + rel;
  }
  // Waits until the prefetcher has done every job it was given (and the
  // jobs those gave it): then nothing more is prepared until the next
  // listing.
  static void WaitForPrefetched(ArchiveFs& fs) { fs.WaitForPrefetches(); }
  static std::vector<std::string> Names(ArchiveFs& fs, uint64_t ino) {
    std::vector<std::string> out;
    Status s = fs.ReadDir(ino, 0, [&](const FsDirEntry& e) {
      out.push_back(e.name);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  static std::string ReadAll(ArchiveFs& fs, uint64_t ino, size_t chunk = 128 << 10) {
    auto f = fs.Open(ino, O_RDONLY);
    EXPECT_TRUE(f) << f.error().message();
    if (!f) return "";
    std::string out;
    std::vector<uint8_t> buf(chunk);
    for (;;) {
      auto n = fs.Read(**f, out.size(), buf);
      EXPECT_TRUE(n) << n.error().message();
      if (!n || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    return out;
  }

  std::string root_, src_, big_;
  bool xattrs_ = false;
  MemoryStore store_;
};

}  // namespace cairn::archive_fs_test
