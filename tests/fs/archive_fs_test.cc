// ArchiveFs without a kernel mount, on a MemoryStore repository: layout,
// lookup and readdir (with offsets, in a 100,000-entry directory), stable
// inodes, hardlinks, xattrs, EROFS, refresh. Reads, read-ahead and tree
// prefetch: archive_fs_read_test.cc.
#include "fs/archive_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "repo/backup.h"
#include "repo/crypto.h"
#include "repo/pack.h"
#include "tests/support/faulty_store.h"
#include "tests/support/borrowed_store.h"
#include "tests/support/memory_store.h"
#include "tests/fs/archive_fs_fixture.h"

namespace cairn {
namespace {

using namespace archive_fs_test;  // NOLINT: the fixture

TEST_F(ArchiveFsTest, LayoutShowsSnapshotsSeriesHostsAndTags) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  ArchiveFs& fs = *m.fs;
  EXPECT_EQ(Names(fs, ArchiveFs::kRootIno),
            (std::vector<std::string>{".", "..", "hosts", "series", "snapshots", "tags"}));
  const std::string name = SnapshotDirName(s);
  EXPECT_EQ(Names(fs, kSnapshotsIno), (std::vector<std::string>{".", "..", name, "latest"}));
  auto latest = Walk(fs, "snapshots/latest");
  ASSERT_TRUE(latest);
  EXPECT_TRUE(S_ISLNK(latest->mode));
  EXPECT_EQ(*fs.ReadLink(latest->ino), name);
  auto series_latest = Walk(fs, "series/" + LayoutName(s.series) + "/latest");
  ASSERT_TRUE(series_latest) << series_latest.error().message();
  EXPECT_EQ(*fs.ReadLink(series_latest->ino), "../../snapshots/" + name);
  auto host = Walk(fs, "hosts/" + LayoutName(s.hostname) + "/" + name);
  ASSERT_TRUE(host) << host.error().message();
  EXPECT_EQ(*fs.ReadLink(host->ino), "../../snapshots/" + name);
  auto snap_root = Walk(fs, "snapshots/" + name);
  ASSERT_TRUE(snap_root);
  EXPECT_TRUE(S_ISDIR(snap_root->mode));
  EXPECT_EQ(*fs.GetXattr(snap_root->ino, "user.cairn.snapshot"), s.id.Hex());
  // ".." of a stored directory is its parent; readdir resumes at a cookie.
  auto sub = Walk(fs, "snapshots/" + name + src_ + "/sub");
  auto src = Walk(fs, "snapshots/" + name + src_);
  ASSERT_TRUE(sub && src);
  std::vector<FsDirEntry> all;
  ASSERT_TRUE(fs.ReadDir(sub->ino, 0, [&](const FsDirEntry& e) {
    all.push_back(e);
    return true;
  }).ok());
  ASSERT_GE(all.size(), 4u);
  EXPECT_EQ(all[1].name, "..");
  EXPECT_EQ(all[1].attr.ino, src->ino);
  std::vector<std::string> rest;
  ASSERT_TRUE(fs.ReadDir(sub->ino, all[2].next_offset, [&](const FsDirEntry& e) {
    rest.push_back(e.name);
    return true;
  }).ok());
  ASSERT_EQ(rest.size(), all.size() - 3);
  EXPECT_EQ(rest[0], all[3].name);
  EXPECT_FALSE(Walk(fs, "snapshots/nope"));
  EXPECT_TRUE(Walk(fs, "snapshots/nope").error().Is(ErrorCode::kNotFound));
}

TEST_F(ArchiveFsTest, ContentAndMetadataMatchTheSource) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  ArchiveFs& fs = *m.fs;
  auto hello = Walk(fs, InSnap(s, "hello.txt"));
  ASSERT_TRUE(hello) << hello.error().message();
  struct stat st;
  ASSERT_EQ(lstat((src_ + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(hello->mode, st.st_mode);
  EXPECT_EQ(hello->uid, st.st_uid);
  EXPECT_EQ(hello->size, 6u);
  EXPECT_EQ(hello->mtime_ns, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  EXPECT_TRUE(hello->immutable);
  EXPECT_EQ(ReadAll(fs, hello->ino), "hello\n");

  auto big = Walk(fs, InSnap(s, "sub/big.bin"));
  ASSERT_TRUE(big);
  EXPECT_EQ(ReadAll(fs, big->ino), big_);
  EXPECT_EQ(ReadAll(fs, big->ino, 4096 + 17), big_);  // unaligned reads
  EXPECT_GT(big->blocks * 512, big_.size());          // stored size: incompressible

  auto sparse = Walk(fs, InSnap(s, "sparse"));
  ASSERT_TRUE(sparse);
  std::string want(5 << 20, '\0');
  want += "end";
  EXPECT_EQ(ReadAll(fs, sparse->ino), want);
  EXPECT_LT(sparse->blocks * 512, uint64_t{1} << 20);  // the hole is not stored

  auto lnk = Walk(fs, InSnap(s, "sub/link"));
  ASSERT_TRUE(lnk);
  EXPECT_TRUE(S_ISLNK(lnk->mode));
  EXPECT_EQ(*fs.ReadLink(lnk->ino), "../hello.txt");
  auto fifo = Walk(fs, InSnap(s, "fifo"));
  ASSERT_TRUE(fifo);
  EXPECT_EQ(fifo->mode, S_IFIFO | 0640u);
  auto one = Walk(fs, InSnap(s, "sub/deeper/one"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->mode, S_IFREG | 0600u);
  EXPECT_EQ(Names(fs, Walk(fs, InSnap(s, "sub"))->ino),
            (std::vector<std::string>{".", "..", "big.bin", "deeper", "hardlink", "link"}));
  auto stats = fs.StatFs();
  ASSERT_TRUE(stats);
  EXPECT_GT(stats->stored_bytes, big_.size());
}

TEST_F(ArchiveFsTest, HardlinksShareOneInodeWithTheLinkCount) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto a = Walk(*m.fs, InSnap(s, "hello.txt"));
  auto b = Walk(*m.fs, InSnap(s, "sub/hardlink"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->ino, b->ino);
  EXPECT_EQ(a->nlink, 2u);
  auto other = Walk(*m.fs, InSnap(s, "sub/deeper/one"));
  EXPECT_NE(other->ino, a->ino);
  EXPECT_EQ(other->nlink, 1u);
}

TEST_F(ArchiveFsTest, XattrsIncludeTheFilesOwnAndCairns) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto big = Walk(*m.fs, InSnap(s, "sub/big.bin"));
  ASSERT_TRUE(big);
  EXPECT_EQ(*m.fs->GetXattr(big->ino, "user.cairn.sha256"), Sha256(AsBytes(big_)).Hex());
  EXPECT_EQ(*m.fs->GetXattr(big->ino, "user.cairn.snapshot"), s.id.Hex());
  // Nothing of it read yet: only in the store; read once, all of it is in
  // the reader's RAM cache (64 MiB by default, the file is 3 MiB).
  auto state = m.fs->GetXattr(big->ino, "user.cairn.state");
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, "stored");
  EXPECT_EQ(ReadAll(*m.fs, big->ino), big_);
  EXPECT_EQ(*m.fs->GetXattr(big->ino, "user.cairn.state"), "cached");
  // Not listed, so that rsync -X and cp -a copies equal the source.
  auto names = m.fs->ListXattr(big->ino);
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
  auto missing = m.fs->GetXattr(big->ino, "user.nothing");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().Is(ErrorCode::kNotFound));
  if (xattrs_) {
    auto hello = Walk(*m.fs, InSnap(s, "hello.txt"));
    EXPECT_EQ(*m.fs->GetXattr(hello->ino, "user.comment"), "hi");
    EXPECT_EQ(*m.fs->ListXattr(hello->ino), std::vector<std::string>{"user.comment"});
  }
}

// ls -l asks every file for security.selinux; "not supported" (EOPNOTSUPP)
// makes libselinux users stop asking on this device, "no data" would not.
TEST_F(ArchiveFsTest, MissingSelinuxLabelIsUnsupportedNotAbsent) {
  bool labelled = setxattr((src_ + "/sub/deeper/one").c_str(), "security.selinux",
                           "system_u:object_r:f1_t:s0", 25, 0) == 0;
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  auto hello = Walk(*m.fs, InSnap(s, "hello.txt"));
  ASSERT_TRUE(hello);
  for (uint64_t ino : {hello->ino, uint64_t{ArchiveFs::kRootIno}}) {
    auto label = m.fs->GetXattr(ino, "security.selinux");
    ASSERT_FALSE(label);
    EXPECT_TRUE(label.error().Is(ErrorCode::kUnsupported)) << label.error().message();
  }
  // Other missing attributes, security.* included, stay "no such attribute".
  for (const char* name : {"security.capability", "system.posix_acl_access", "user.x"}) {
    auto v = m.fs->GetXattr(hello->ino, name);
    ASSERT_FALSE(v);
    EXPECT_TRUE(v.error().Is(ErrorCode::kNotFound)) << name << ": " << v.error().message();
  }
  if (labelled) {  // root on a file system that stores security.* as given
    auto one = Walk(*m.fs, InSnap(s, "sub/deeper/one"));
    ASSERT_TRUE(one);
    auto label = m.fs->GetXattr(one->ino, "security.selinux");
    ASSERT_TRUE(label) << label.error().message();
    EXPECT_EQ(label->substr(0, 25), "system_u:object_r:f1_t:s0");
  }
}

// A snapshot that records no ACL answers "not supported" for a missing ACL
// once the kernel does not check ACLs (ls -l then stops asking for every
// file); while it does, and for a file that has an ACL, the answer is as
// usual.
TEST_F(ArchiveFsTest, MissingAclIsUnsupportedOnlyInAnAclFreeSnapshot) {
  Snapshot s = Backup(store_);
  ASSERT_TRUE(s.stats.acl_entries.has_value());
  EXPECT_EQ(*s.stats.acl_entries, 0u);
  Mounted m = Mount(store_, root_ + "/trees");
  EXPECT_FALSE(m.fs->MayHoldAcls());
  auto hello = Walk(*m.fs, InSnap(s, "hello.txt"));
  ASSERT_TRUE(hello);
  for (const char* name : {"system.posix_acl_access", "system.posix_acl_default"}) {
    auto v = m.fs->GetXattr(hello->ino, name);
    ASSERT_FALSE(v);
    EXPECT_TRUE(v.error().Is(ErrorCode::kNotFound)) << name << ": " << v.error().message();
  }
  m.fs->SetKernelChecksAcls(false);
  for (const char* name : {"system.posix_acl_access", "system.posix_acl_default"}) {
    auto v = m.fs->GetXattr(hello->ino, name);
    ASSERT_FALSE(v);
    EXPECT_TRUE(v.error().Is(ErrorCode::kUnsupported)) << name << ": " << v.error().message();
  }
  auto other = m.fs->GetXattr(hello->ino, "user.nothing");
  ASSERT_FALSE(other);
  EXPECT_TRUE(other.error().Is(ErrorCode::kNotFound));

  // A snapshot with an ACL: the mount may hold ACLs, and missing ones are
  // "no such attribute" even with the kernel not checking.
  const std::string acl_file = src_ + "/sub/deeper/one";
  // user::rw-, user:nobody(65534):r--, group::---, mask::r--, other::---
  const uint8_t acl[] = {2, 0, 0, 0,  1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
                         2, 0, 4, 0, 0xfe, 0xff, 0, 0,  4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                         0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,  0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  if (setxattr(acl_file.c_str(), "system.posix_acl_access", acl, sizeof(acl), 0) != 0) {
    GTEST_SKIP() << "cannot set a POSIX ACL here: " << strerror(errno);
  }
  Snapshot with = Backup(store_);
  ASSERT_TRUE(with.stats.acl_entries.has_value());
  EXPECT_EQ(*with.stats.acl_entries, 1u);
  Mounted m2 = Mount(store_, root_ + "/trees2");
  EXPECT_TRUE(m2.fs->MayHoldAcls());
  m2.fs->SetKernelChecksAcls(false);
  auto hello2 = Walk(*m2.fs, InSnap(with, "hello.txt"));
  ASSERT_TRUE(hello2);
  auto v = m2.fs->GetXattr(hello2->ino, "system.posix_acl_access");
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().Is(ErrorCode::kNotFound)) << v.error().message();
  auto one = Walk(*m2.fs, InSnap(with, "sub/deeper/one"));
  ASSERT_TRUE(one);
  auto got = m2.fs->GetXattr(one->ino, "system.posix_acl_access");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->size(), sizeof(acl));
}

// A directory's entries get consecutive numbers in name order, whichever
// entry is reached first and in whichever cache directory, so the inode
// records of one directory share pages (flat memory on a walk).
TEST_F(ArchiveFsTest, DirectoryInodesAreConsecutiveAndIndependentOfFirstUse) {
  constexpr int kFiles = 3000;
  std::filesystem::create_directories(src_ + "/many");
  std::vector<std::string> sorted;
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "n" + std::to_string(i);
    Write("many/" + name, "");
    sorted.push_back(name);
  }
  std::sort(sorted.begin(), sorted.end());
  Snapshot s = Backup(store_);
  std::vector<uint64_t> listed;
  {
    Mounted m = Mount(store_, root_ + "/trees");
    auto many = Walk(*m.fs, InSnap(s, "many"));
    ASSERT_TRUE(many);
    std::vector<std::string> names;
    ASSERT_TRUE(m.fs->ReadDir(many->ino, 0, [&](const FsDirEntry& e) {
      if (e.name == "." || e.name == "..") return true;
      names.push_back(e.name);
      listed.push_back(e.attr.ino);
      return true;
    }).ok());
    ASSERT_EQ(names, sorted);
    for (size_t i = 1; i < listed.size(); ++i) {
      ASSERT_EQ(listed[i], listed[i - 1] + 1) << names[i];
    }
  }
  // A fresh cache, looked up from the last name backwards (no readdir):
  // the same numbers.
  Mounted m = Mount(store_, root_ + "/trees-other");
  auto many = Walk(*m.fs, InSnap(s, "many"));
  ASSERT_TRUE(many);
  for (size_t i = sorted.size(); i-- > 0;) {
    auto a = m.fs->Lookup(many->ino, sorted[i]);
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_EQ(a->ino, listed[i]) << sorted[i];
    auto back = m.fs->GetAttr(a->ino);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(S_ISREG(back->mode));
  }
}

TEST_F(ArchiveFsTest, WritesAreRefusedAsReadOnly) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees");
  ArchiveFs& fs = *m.fs;
  auto hello = Walk(fs, InSnap(s, "hello.txt"));
  auto sub = Walk(fs, InSnap(s, "sub"));
  ASSERT_TRUE(hello && sub);
  auto read_only = [](const Status& st) {
    EXPECT_TRUE(st.Is(ErrorCode::kReadOnly)) << st.message();
    EXPECT_NE(st.message().find("read-only"), std::string::npos) << st.message();
  };
  for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC}) {
    auto f = fs.Open(hello->ino, flags);
    ASSERT_FALSE(f);
    read_only(f.error());
  }
  // Every change, in the layout and in a snapshot.
  for (uint64_t dir : {uint64_t{ArchiveFs::kRootIno}, uint64_t{kSnapshotsIno}, sub->ino}) {
    const FsCaller who{1000, 1000};
    read_only(AsStatus(fs.MkDir(dir, "new", 0755, who)));
    read_only(AsStatus(fs.MkNod(dir, "new", S_IFIFO | 0644, 0, who)));
    read_only(AsStatus(fs.Symlink(dir, "new", "target", who)));
    read_only(AsStatus(fs.Create(dir, "new", 0644, O_WRONLY | O_CREAT, who)));
    read_only(fs.Unlink(dir, "x"));
    read_only(fs.RmDir(dir, "x"));
    read_only(fs.Rename(dir, "x", dir, "y", 0));
  }
  FsSetAttr chmod;
  chmod.mode = 0600;
  for (uint64_t ino : {uint64_t{ArchiveFs::kRootIno}, hello->ino}) {
    read_only(AsStatus(fs.SetAttr(ino, chmod, nullptr)));
    const uint8_t byte = 'x';
    read_only(AsStatus(fs.Write(ino, nullptr, 0, std::span(&byte, 1))));
    read_only(fs.SetXattr(ino, "user.x", "y", 0));
    read_only(fs.RemoveXattr(ino, "user.x"));
  }
  read_only(AsStatus(fs.Link(hello->ino, sub->ino, "again")));
  // Between two trees: still the read-only tree's refusal, not EXDEV.
  read_only(fs.Rename(sub->ino, "big.bin", ArchiveFs::kRootIno, "big.bin", 0));
  read_only(AsStatus(fs.Link(hello->ino, ArchiveFs::kRootIno, "again")));
  EXPECT_TRUE(fs.Fsync(hello->ino, nullptr, false).ok()) << "nothing to sync is no error";
  EXPECT_FALSE(fs.Policy().writable);
}

TEST_F(ArchiveFsTest, InodesAreStableAcrossInstancesAndCacheDirs) {
  Snapshot s = Backup(store_);
  std::vector<std::string> paths = {"hello.txt", "sub", "sub/big.bin", "sub/deeper/one", "fifo"};
  std::vector<uint64_t> first;
  {
    Mounted m = Mount(store_, root_ + "/trees");
    for (const auto& p : paths) first.push_back(Walk(*m.fs, InSnap(s, p))->ino);
    EXPECT_EQ(std::set<uint64_t>(first.begin(), first.end()).size(), paths.size());
  }
  for (const std::string dir : {"/trees", "/trees-fresh"}) {
    Mounted m = Mount(store_, root_ + dir);
    // Reached in another order, through readdir this time.
    auto sub = Walk(*m.fs, InSnap(s, "sub"));
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->ino, first[1]);
    std::map<std::string, uint64_t> listed;
    ASSERT_TRUE(m.fs->ReadDir(sub->ino, 0, [&](const FsDirEntry& e) {
      listed[e.name] = e.attr.ino;
      return true;
    }).ok());
    EXPECT_EQ(listed["big.bin"], first[2]);
    for (size_t i = 0; i < paths.size(); ++i) {
      EXPECT_EQ(Walk(*m.fs, InSnap(s, paths[i]))->ino, first[i]) << paths[i] << " in " << dir;
      auto attr = m.fs->GetAttr(first[i]);
      ASSERT_TRUE(attr) << attr.error().message();
    }
  }
}

TEST_F(ArchiveFsTest, HugeDirectoryListsWithOffsetsAndPersists) {
  constexpr int kFiles = 100000;
  std::filesystem::create_directories(src_ + "/huge");
  for (int i = 0; i < kFiles; ++i) {
    int fd = open((src_ + "/huge/f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  FaultyStore faulty(store_);
  Snapshot s = Backup(faulty);
  std::vector<std::string> names;
  size_t without_attributes = 0;
  {
    Mounted m = Mount(faulty, root_ + "/trees");
    auto huge = Walk(*m.fs, InSnap(s, "huge"));
    ASSERT_TRUE(huge);
    // Read it as the kernel does: a few hundred entries per call, resuming
    // at the offset cookie of the last entry taken.
    uint64_t off = 0;
    for (int calls = 0; calls < 10000; ++calls) {
      size_t before = names.size();
      Status st = m.fs->ReadDir(huge->ino, off, [&](const FsDirEntry& e) {
        if (names.size() - before == 333) return false;
        names.push_back(e.name);
        if (!e.with_attributes) ++without_attributes;
        off = e.next_offset;
        return true;
      });
      ASSERT_TRUE(st.ok()) << st.message();
      if (names.size() == before) break;
    }
    ASSERT_EQ(names.size(), kFiles + 2u);
    EXPECT_EQ(std::set<std::string>(names.begin() + 2, names.end()).size(), size_t{kFiles});
    EXPECT_TRUE(std::is_sorted(names.begin() + 2, names.end()));
    // Too large for one batch: `ls -l` gets every file's attributes with
    // the listing, even though nobody has looked a file up yet.
    EXPECT_EQ(without_attributes, 0u);
    auto mid = m.fs->Lookup(huge->ino, "f54321");
    ASSERT_TRUE(mid) << mid.error().message();
    EXPECT_TRUE(S_ISREG(mid->mode));
  }
  // A remount lists the directory from the decoded tables alone: with
  // every pack read failing, it still works.
  faulty.CorruptGets("packs/", 0);
  Mounted m = Mount(faulty, root_ + "/trees");
  auto huge = Walk(*m.fs, InSnap(s, "huge"));
  ASSERT_TRUE(huge) << huge.error().message();
  // Listed from the decoded tables: no GET at all (a wall-clock bound here
  // could not tell a slow machine from a listing that re-reads blobs;
  // bench/mount_bench.sh measures the time).
  const uint64_t gets = faulty.Calls(StoreOp::kGet);
  size_t count = 0;
  ASSERT_TRUE(m.fs->ReadDir(huge->ino, 0, [&](const FsDirEntry&) { return ++count, true; }).ok());
  EXPECT_EQ(count, kFiles + 2u);
  EXPECT_EQ(faulty.Calls(StoreOp::kGet), gets) << "the listing read from the store";
  EXPECT_TRUE(m.fs->Lookup(huge->ino, "f99999"));
}

// Listings give files' attributes only once files get looked up (stat,
// ls -l, tar); a name-only walk (find) gets names, types and the same inode
// numbers. Subdirectories always carry theirs. Both with the prefetcher's
// ready listings and without.
TEST_F(ArchiveFsTest, ListingsGiveFileAttributesOnceFilesAreLookedUp) {
  Snapshot s = Backup(store_);
  for (size_t threads : {size_t{0}, size_t{1}}) {
    SCOPED_TRACE(threads);
    Mounted m = Mount(store_, root_ + "/trees" + std::to_string(threads), 30e9, threads);
    auto top = Walk(*m.fs, "snapshots/" + SnapshotDirName(s) + src_);  // directories only
    ASSERT_TRUE(top) << top.error().message();
    std::map<std::string, FsDirEntry> listed;
    auto list = [&](uint64_t ino) {
      listed.clear();
      ASSERT_TRUE(m.fs->ReadDir(ino, 0, [&](const FsDirEntry& e) {
        listed[e.name] = e;
        return true;
      }).ok());
    };
    list(top->ino);
    ASSERT_EQ(listed.size(), 6u);  // . .. fifo hello.txt sparse sub
    EXPECT_TRUE(listed["."].with_attributes);
    EXPECT_TRUE(listed["sub"].with_attributes);
    for (const char* f : {"fifo", "hello.txt", "sparse"}) EXPECT_FALSE(listed[f].with_attributes) << f;
    // The inode number and type listed are those a lookup gives.
    auto hello = m.fs->Lookup(top->ino, "hello.txt");
    ASSERT_TRUE(hello);
    EXPECT_EQ(listed["hello.txt"].attr.ino, hello->ino);
    EXPECT_EQ(listed["hello.txt"].attr.mode, hello->mode);
    // That lookup of a file turns attributes on for the next listings.
    auto sub = Walk(*m.fs, InSnap(s, "sub"));
    ASSERT_TRUE(sub);
    if (threads == 1) {  // wait for the prefetcher's listing of sub
      WaitForPrefetched(*m.fs);
    }
    const uint64_t served = m.fs->ready_listings_served();
    list(sub->ino);
    EXPECT_EQ(m.fs->ready_listings_served() - served, threads);
    for (const char* f : {"big.bin", "hardlink", "link"}) EXPECT_TRUE(listed[f].with_attributes) << f;
    // Nobody looks files up for a window of listings: off again.
    auto deeper = Walk(*m.fs, InSnap(s, "sub/deeper"));
    ASSERT_TRUE(deeper);
    for (uint64_t i = 0; i < ListingPolicy::kWindow; ++i) list(deeper->ino);
    EXPECT_FALSE(listed["one"].with_attributes);
    EXPECT_GT(m.fs->listing_policy().with_attributes(), 0u);
    EXPECT_GT(m.fs->listing_policy().without_attributes(), 1u);
  }
}

TEST_F(ArchiveFsTest, RefreshSeesANewSnapshot) {
  Snapshot s1 = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees", /*refresh_ns=*/0);
  EXPECT_EQ(Names(*m.fs, kSnapshotsIno).size(), 4u);  // . .. one latest
  Write("new.txt", "new\n");
  Snapshot s2 = Backup(store_);
  // refresh interval 0: reading snapshots/ refreshes.
  auto names = Names(*m.fs, kSnapshotsIno);
  EXPECT_EQ(names.size(), 5u);
  auto latest = Walk(*m.fs, "snapshots/latest");
  ASSERT_TRUE(latest);
  EXPECT_EQ(*m.fs->ReadLink(latest->ino), SnapshotDirName(s2));
  auto added = Walk(*m.fs, InSnap(s2, "new.txt"));
  ASSERT_TRUE(added) << added.error().message();
  EXPECT_EQ(ReadAll(*m.fs, added->ino), "new\n");
  EXPECT_FALSE(Walk(*m.fs, InSnap(s1, "new.txt")));
  // An explicit refresh with nothing new keeps everything.
  ASSERT_TRUE(m.fs->Refresh().ok());
  EXPECT_EQ(Names(*m.fs, kSnapshotsIno).size(), 5u);
}

}  // namespace
}  // namespace cairn
