// HeadTree without FUSE: the operations rsync, cp, tar, mv and editors use,
// their errors, seal and recovery, and a model-based test (after
// mountpoint-s3's reftests): random sequences of changes, seals and
// restarts against an in-memory reference model, compared with head/ as
// the tree shows it and with each sealed snapshot as stored.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>
#include <array>
#include <map>
#include <random>
#include <set>

#include "fs/head_record.h"
#include "fs/head_tree.h"
#include "repo/backup.h"
#include "tests/fs/head_tree_fixture.h"

namespace cairn {
namespace {


TEST_F(HeadTreeTest, EmptyHeadTakesFilesDirectoriesAndLinks) {
  EXPECT_TRUE(Names(HeadTree::kRootIno).empty());
  auto d = head_->MkDir(HeadTree::kRootIno, "etc", 0755, kUser);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(S_ISDIR(d->mode));
  EXPECT_EQ(d->uid, 1000u);
  ASSERT_TRUE(WriteFile("/etc/passwd", "root:x:0:0\n").ok());
  ASSERT_TRUE(head_->Symlink(d->ino, "link", "passwd", kUser));
  ASSERT_TRUE(head_->MkNod(d->ino, "fifo", S_IFIFO | 0600, 0, kUser));
  auto l = head_->Link(Ino("/etc/passwd"), HeadTree::kRootIno, "hard");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->nlink, 2u);
  EXPECT_EQ(Names(d->ino), (std::vector<std::string>{"fifo", "link", "passwd"}));
  EXPECT_EQ(Read(Ino("/hard")), "root:x:0:0\n");
  EXPECT_EQ(*head_->ReadLink(Ino("/etc/link")), "passwd");
  // Errors with one meaning each.
  EXPECT_TRUE(head_->MkDir(d->ino, "passwd", 0755, kUser).error().Is(ErrorCode::kAlreadyExists));
  EXPECT_TRUE(head_->Lookup(d->ino, "nope").error().Is(ErrorCode::kNotFound));
  EXPECT_TRUE(head_->RmDir(HeadTree::kRootIno, "etc").Is(ErrorCode::kNotEmpty));
  EXPECT_TRUE(head_->Unlink(HeadTree::kRootIno, "etc").Is(ErrorCode::kIsADirectory));
  EXPECT_TRUE(head_->RmDir(d->ino, "passwd").Is(ErrorCode::kNotADirectory));
  EXPECT_TRUE(head_->MkDir(d->ino, std::string(256, 'x'), 0755, kUser)
                  .error()
                  .Is(ErrorCode::kNameTooLong));
  EXPECT_TRUE(head_->Rename(HeadTree::kRootIno, "etc", d->ino, "inside", 0)
                  .Is(ErrorCode::kInvalidArgument));
}

TEST_F(HeadTreeTest, RenameReplacesNoReplaceRefusesExchangeSwaps) {
  ASSERT_TRUE(WriteFile("/a", "A").ok());
  ASSERT_TRUE(WriteFile("/b", "B").ok());
  const uint64_t a = Ino("/a");
  EXPECT_TRUE(head_->Rename(HeadTree::kRootIno, "a", HeadTree::kRootIno, "b", RENAME_NOREPLACE)
                  .Is(ErrorCode::kAlreadyExists));
  ASSERT_TRUE(head_->Rename(HeadTree::kRootIno, "a", HeadTree::kRootIno, "b",
                            RENAME_EXCHANGE)
                  .ok());
  EXPECT_EQ(Read(Ino("/a")), "B");
  EXPECT_EQ(Read(Ino("/b")), "A");
  // The editor's save: write a temporary, rename it over the file; the
  // number stays with the data, not with the name.
  ASSERT_TRUE(head_->Rename(HeadTree::kRootIno, "b", HeadTree::kRootIno, "a", 0).ok());
  EXPECT_EQ(Ino("/a"), a);
  EXPECT_EQ(Read(Ino("/a")), "A");
  EXPECT_EQ(Names(HeadTree::kRootIno), std::vector<std::string>{"a"});
}

TEST_F(HeadTreeTest, TruncateAndPartialOverwriteKeepTheRest) {
  const std::string data = test::RandomString(300'000, 1);
  ASSERT_TRUE(WriteFile("/f", data).ok());
  Seal();  // the file is stored; head/ continues from the snapshot
  const uint64_t ino = Ino("/f");
  auto f = head_->Open(ino, O_WRONLY);
  ASSERT_TRUE(f);
  ASSERT_TRUE(WriteAt(ino, f->get(), 100'000, "XYZ").ok());  // --inplace
  ASSERT_TRUE(head_->Release(std::move(*f)).ok());
  std::string want = data;
  want.replace(100'000, 3, "XYZ");
  EXPECT_EQ(Read(ino), want);
  FsSetAttr t;
  t.size = 50'000;
  ASSERT_TRUE(head_->SetAttr(ino, t, nullptr));
  t.size = 60'000;
  ASSERT_TRUE(head_->SetAttr(ino, t, nullptr));
  want = data.substr(0, 50'000) + std::string(10'000, '\0');
  EXPECT_EQ(Read(ino), want);
  Seal();
  EXPECT_EQ(Read(Ino("/f")), want);
  Reopen();
  EXPECT_EQ(Read(Ino("/f")), want);
}

TEST_F(HeadTreeTest, XattrsAreStoredAsTheyComeIncludingAcls) {
  ASSERT_TRUE(WriteFile("/f", "x").ok());
  const uint64_t ino = Ino("/f");
  const std::string acl("\x02\x00\x00\x00\x01\x00\x06\x00", 8);
  ASSERT_TRUE(head_->SetXattr(ino, "system.posix_acl_access", acl, 0).ok());
  ASSERT_TRUE(head_->SetXattr(ino, "security.capability", "cap", 0).ok());
  ASSERT_TRUE(head_->SetXattr(ino, "user.a", "1", 0).ok());
  EXPECT_TRUE(head_->SetXattr(ino, "user.a", "2", XATTR_CREATE).Is(ErrorCode::kAlreadyExists));
  EXPECT_TRUE(head_->SetXattr(ino, "user.b", "2", XATTR_REPLACE).Is(ErrorCode::kNotFound));
  ASSERT_TRUE(head_->RemoveXattr(ino, "user.a").ok());
  EXPECT_TRUE(head_->RemoveXattr(ino, "user.a").Is(ErrorCode::kNotFound));
  Seal();
  Reopen();
  const uint64_t again = Ino("/f");
  EXPECT_EQ(*head_->GetXattr(again, "system.posix_acl_access"), acl);
  EXPECT_EQ(*head_->ListXattr(again),
            (std::vector<std::string>{"security.capability", "system.posix_acl_access"}));
}

std::string Acl(std::initializer_list<std::array<uint32_t, 3>> entries) {
  std::string v("\x02\x00\x00\x00", 4);
  for (const auto& [tag, perm, id] : entries) {
    const uint16_t t = static_cast<uint16_t>(tag), p = static_cast<uint16_t>(perm);
    v.append(reinterpret_cast<const char*>(&t), 2);
    v.append(reinterpret_cast<const char*>(&p), 2);
    v.append(reinterpret_cast<const char*>(&id), 4);
  }
  return v;
}

TEST_F(HeadTreeTest, AccessAclAndModeStayInStep) {
  ASSERT_TRUE(WriteFile("/f", "x", 0640).ok());
  const uint64_t ino = Ino("/f");
  // user::rw- user:65534:rw- group::r-- mask::rw- other::---
  const std::string acl = Acl({{1, 6, 0}, {2, 6, 65534}, {4, 4, 0}, {0x10, 6, 0}, {0x20, 0, 0}});
  ASSERT_TRUE(head_->SetXattr(ino, "system.posix_acl_access", acl, 0).ok());
  EXPECT_EQ(head_->GetAttr(ino)->mode & 0777, 0660u);  // the mask is the group's bits
  FsSetAttr t;
  t.mode = 0600;
  ASSERT_TRUE(head_->SetAttr(ino, t, nullptr));
  EXPECT_EQ(*head_->GetXattr(ino, "system.posix_acl_access"),
            Acl({{1, 6, 0}, {2, 6, 65534}, {4, 4, 0}, {0x10, 0, 0}, {0x20, 0, 0}}));
  // An ACL the mode says all of is not kept, only its bits.
  ASSERT_TRUE(head_->SetXattr(ino, "system.posix_acl_access",
                              Acl({{1, 7, 0}, {4, 5, 0}, {0x20, 4, 0}}), 0)
                  .ok());
  EXPECT_EQ(head_->GetAttr(ino)->mode & 0777, 0754u);
  EXPECT_TRUE(head_->GetXattr(ino, "system.posix_acl_access").error().Is(ErrorCode::kNotFound));
}

TEST_F(HeadTreeTest, ChangesSurviveAReopenWithoutASeal) {
  ASSERT_TRUE(head_->MkDir(HeadTree::kRootIno, "d", 0700, kUser));
  ASSERT_TRUE(WriteFile("/d/f", test::RandomString(200'000, 2)).ok());
  FsSetAttr t;
  t.mtime_ns = 1'234'567'891'234'567'891;
  ASSERT_TRUE(head_->SetAttr(Ino("/d/f"), t, nullptr));
  const uint64_t ino = Ino("/d/f");
  Reopen();
  EXPECT_EQ(Ino("/d/f"), ino);  // numbers of changed entries are kept
  auto a = head_->GetAttr(ino);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mtime_ns, 1'234'567'891'234'567'891);
  EXPECT_EQ(Read(ino), test::RandomString(200'000, 2));
}

TEST_F(HeadTreeTest, SecondSealOfUnchangedHeadWritesOnlyTheRoot) {
  for (int d = 0; d < 5; ++d) {
    const std::string dir = "dir" + std::to_string(d);
    ASSERT_TRUE(head_->MkDir(HeadTree::kRootIno, dir, 0755, kUser));
    for (int f = 0; f < 10; ++f) {
      ASSERT_TRUE(WriteFile("/" + dir + "/f" + std::to_string(f), test::RandomString(5000, d * 10 + f)).ok());
    }
  }
  SealReport first = Seal();
  EXPECT_EQ(first.files, 50u);
  EXPECT_EQ(first.files_new, 50u);
  EXPECT_EQ(first.trees_written, 6u);
  Reopen();
  SealReport same = Seal();
  EXPECT_EQ(same.trees_written, 1u);  // the root; every directory kept its tree
  EXPECT_EQ(same.bytes_read, 0u);
  EXPECT_EQ(same.stored_bytes_added, 0u);
  // One changed file: its directory and the root are written again.
  ASSERT_TRUE(head_->Unlink(Ino("/dir3"), "f0").ok());
  ASSERT_TRUE(WriteFile("/dir3/f0", "new").ok());
  SealReport one = Seal();
  EXPECT_EQ(one.trees_written, 2u);
  EXPECT_EQ(one.files_new + one.files_changed, 1u);
  EXPECT_EQ(one.bytes_read, 3u);
}

TEST_F(HeadTreeTest, StagingLimitGivesNoSpaceAndSealFreesIt) {
  staging_limit_ = 100'000;
  Reopen();
  ASSERT_TRUE(WriteFile("/a", test::RandomString(80'000, 1)).ok());
  Status full = WriteFile("/b", test::RandomString(80'000, 2));
  EXPECT_TRUE(full.Is(ErrorCode::kNoSpace)) << full.message();
  EXPECT_NE(full.message().find("--staging-size"), std::string::npos) << full.message();
  EXPECT_EQ(Read(Ino("/a")), test::RandomString(80'000, 1));  // what was staged is intact
  Seal();
  ASSERT_TRUE(head_->Unlink(HeadTree::kRootIno, "b").ok());
  ASSERT_TRUE(WriteFile("/b", test::RandomString(80'000, 2)).ok());
  EXPECT_EQ(Read(Ino("/b")), test::RandomString(80'000, 2));
}

TEST_F(HeadTreeTest, PowerCutMakesLostDataSuspectNotSkipped) {
  ASSERT_TRUE(WriteFile("/kept", "kept").ok());
  ASSERT_TRUE(WriteFile("/lost", test::RandomString(10'000, 3)).ok());
  const uint64_t lost = Ino("/lost");
  head_.reset();
  // Another boot, and the staged bytes of /lost never reached the disk.
  {
    auto j = HeadJournal::Open(root_ + "/staging/journal");
    ASSERT_TRUE(j);
    HeadJournal::Batch b;
    b.PutMeta("boot_id", AsBytes("another boot"));
    ASSERT_TRUE((*j)->Commit(b).ok());
  }
  char name[32];
  snprintf(name, sizeof(name), "%016llx", static_cast<unsigned long long>(lost));
  ASSERT_EQ(truncate((root_ + "/staging/data/" + name).c_str(), 0), 0);
  Reopen();
  auto a = head_->GetAttr(Ino("/lost"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mtime_ns, 0);  // rsync's quick check sends it again
  EXPECT_NE(head_->GetAttr(Ino("/kept"))->mtime_ns, 0);
  EXPECT_EQ(Read(Ino("/kept")), "kept");
}

TEST(HeadRangesTest, UncoveredBytesIsWhatAddRangeAdds) {
  std::mt19937_64 rng(7);
  std::vector<ByteRange> ranges;
  std::vector<bool> bytes(5000);
  for (int i = 0; i < 2000; ++i) {
    const ByteRange r{rng() % 4500, rng() % 400};
    uint64_t fresh = 0;
    for (uint64_t b = r.offset; b < r.end(); ++b) fresh += !bytes[b];
    EXPECT_EQ(UncoveredBytes(ranges, r), fresh);
    EXPECT_EQ(AddRange(ranges, r), fresh);
    for (uint64_t b = r.offset; b < r.end(); ++b) bytes[b] = true;
  }
}

// --- the model ---

struct MFile {
  char type = 'f';  // f, d, l
  std::string data;  // file content or symlink target
  uint32_t mode = 0644;
  std::map<std::string, std::string> xattrs;
};

struct Model {
  std::map<std::string, int> names;  // path -> inode id ("/" is a directory)
  std::map<int, MFile> inodes;
  int next = 1;
  Model() {
    names["/"] = 0;
    inodes[0] = MFile{'d', "", 0755, {}};
  }
  std::vector<std::string> Children(const std::string& dir) const {
    std::vector<std::string> out;
    const std::string prefix = dir == "/" ? "/" : dir + "/";
    for (auto it = names.lower_bound(prefix); it != names.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (it->first == "/" || it->first.find('/', prefix.size()) != std::string::npos) continue;
      out.push_back(it->first.substr(prefix.size()));
    }
    return out;
  }
  std::vector<std::string> Paths(char type) const {
    std::vector<std::string> out;
    for (const auto& [p, id] : names) {
      if (inodes.at(id).type == type) out.push_back(p);
    }
    return out;
  }
  int Nlink(int id) const {
    int n = 0;
    for (const auto& [p, i] : names) n += i == id;
    return n;
  }
};

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

class HeadModelTest : public HeadTreeTest {
 protected:
  // head/ as the tree shows it equals the model (names, types, bytes,
  // modes, xattrs, hard links).
  void CheckHead(const Model& m) {
    std::map<int, uint64_t> ino_of;
    std::function<void(const std::string&, uint64_t)> walk = [&](const std::string& dir,
                                                                 uint64_t ino) {
      auto want = m.Children(dir);
      ASSERT_EQ(Names(ino), want) << "listing of " << dir;
      for (const auto& name : want) {
        const std::string path = Join(dir, name);
        const int id = m.names.at(path);
        const MFile& mf = m.inodes.at(id);
        auto a = head_->Lookup(ino, name);
        ASSERT_TRUE(a) << path << ": " << a.error().message();
        EXPECT_EQ(a->mode & 07777, mf.mode) << path;
        if (auto [it, fresh] = ino_of.emplace(id, a->ino); !fresh) {
          EXPECT_EQ(it->second, a->ino) << path << " is a hard link";
        }
        auto xs = head_->ListXattr(a->ino);
        ASSERT_TRUE(xs);
        std::map<std::string, std::string> got;
        for (const auto& x : *xs) got[x] = *head_->GetXattr(a->ino, x);
        EXPECT_EQ(got, mf.xattrs) << path;
        if (mf.type == 'd') {
          ASSERT_TRUE(S_ISDIR(a->mode)) << path;
          walk(path, a->ino);
        } else if (mf.type == 'l') {
          ASSERT_TRUE(S_ISLNK(a->mode)) << path;
          EXPECT_EQ(*head_->ReadLink(a->ino), mf.data) << path;
        } else {
          ASSERT_TRUE(S_ISREG(a->mode)) << path;
          EXPECT_EQ(a->nlink, static_cast<uint32_t>(m.Nlink(id))) << path;
          EXPECT_EQ(a->size, mf.data.size()) << path;
          EXPECT_TRUE(Read(a->ino) == mf.data) << path << " content differs";
        }
      }
    };
    walk("/", HeadTree::kRootIno);
  }
  // The sealed snapshot as stored equals the model.
  void CheckSnapshot(const Model& m, const Id& snap_id) {
    auto snap = repo_->FindSnapshot(snap_id.Hex());
    ASSERT_TRUE(snap) << snap.error().message();
    auto codec = repo_->NewCodec();
    std::map<std::pair<uint64_t, uint64_t>, int> groups;
    std::function<void(const std::string&, const Id&)> walk = [&](const std::string& dir,
                                                                  const Id& tree) {
      auto nodes = ReadTree(tree, repo_->TreeLoader(*codec));
      ASSERT_TRUE(nodes) << nodes.error().message();
      std::vector<std::string> names;
      for (const auto& n : *nodes) names.push_back(n.name);
      ASSERT_EQ(names, m.Children(dir)) << "stored listing of " << dir;
      for (const auto& n : *nodes) {
        const std::string path = Join(dir, n.name);
        const MFile& mf = m.inodes.at(m.names.at(path));
        EXPECT_EQ(n.mode, mf.mode) << path;
        std::map<std::string, std::string> xs;
        for (const auto& x : n.xattrs) xs[x.name] = x.value;
        EXPECT_EQ(xs, mf.xattrs) << path;
        if (mf.type == 'd') {
          walk(path, n.subtree);
        } else if (mf.type == 'l') {
          EXPECT_EQ(n.symlink_target, mf.data);
        } else {
          auto f = reader_->Open(n, path);
          std::string got(n.size, '\0');
          auto r = reader_->Read(*f, 0, std::span(reinterpret_cast<uint8_t*>(got.data()),
                                                  got.size()));
          ASSERT_TRUE(r) << r.error().message();
          EXPECT_TRUE(got == mf.data) << "stored " << path << " differs";
          if (n.nlink > 1) {
            auto [it, fresh] = groups.emplace(std::make_pair(n.device, n.inode),
                                              m.names.at(path));
            if (!fresh) {
              EXPECT_EQ(it->second, m.names.at(path)) << path << " hard link group";
            }
          }
        }
      }
    };
    walk("/", snap->tree);
  }

  // One random change applied to head/ and the model alike.
  void Step(Model& m, std::mt19937_64& rng) {
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    auto dirs = m.Paths('d');
    auto files = m.Paths('f');
    const std::string dir = pick(dirs);
    const std::string name = "n" + std::to_string(rng() % 12);
    const std::string path = Join(dir, name);
    const bool exists = m.names.count(path) > 0;
    switch (rng() % 12) {
      case 0:
      case 1: {  // create and write
        if (exists) return;
        std::string data = test::RandomString(rng() % 3 == 0 ? rng() % 300'000 : rng() % 2000, rng());
        ASSERT_TRUE(WriteFile(path, data).ok()) << path;
        m.names[path] = m.next;
        m.inodes[m.next++] = MFile{'f', data, 0644, {}};
        return;
      }
      case 2: {  // mkdir
        if (exists) return;
        ASSERT_TRUE(head_->MkDir(Ino(dir), name, 0755, kUser)) << path;
        m.names[path] = m.next;
        m.inodes[m.next++] = MFile{'d', "", 0755, {}};
        return;
      }
      case 3: {  // write into an existing file at some offset
        if (files.empty()) return;
        const std::string f = pick(files);
        MFile& mf = m.inodes[m.names[f]];
        const uint64_t off = mf.data.empty() ? 0 : rng() % (mf.data.size() + 1000);
        const std::string data = test::RandomString(1 + rng() % 5000, rng());
        const uint64_t ino = Ino(f);
        auto of = head_->Open(ino, O_WRONLY);
        ASSERT_TRUE(of);
        ASSERT_TRUE(WriteAt(ino, of->get(), off, data).ok());
        ASSERT_TRUE(head_->Release(std::move(*of)).ok());
        if (mf.data.size() < off + data.size()) mf.data.resize(off + data.size(), '\0');
        mf.data.replace(off, data.size(), data);
        return;
      }
      case 4: {  // truncate
        if (files.empty()) return;
        const std::string f = pick(files);
        MFile& mf = m.inodes[m.names[f]];
        const uint64_t size = rng() % (mf.data.size() + 2000);
        FsSetAttr t;
        t.size = size;
        ASSERT_TRUE(head_->SetAttr(Ino(f), t, nullptr));
        mf.data.resize(size, '\0');
        return;
      }
      case 5: {  // rename, replacing a file or an empty directory
        auto all = m.Paths('f');
        for (const auto& d : dirs) {
          if (d != "/") all.push_back(d);
        }
        if (all.empty()) return;
        const std::string from = pick(all);
        if ((path + "/").compare(0, from.size() + 1, from + "/") == 0) return;  // into itself
        const char type = m.inodes[m.names[from]].type;
        if (exists) {
          const MFile& target = m.inodes[m.names[path]];
          if (path == from) return;
          if ((type == 'd') != (target.type == 'd')) return;
          if (target.type == 'd' && !m.Children(path).empty()) return;
          if (m.names[path] == m.names[from]) return;
        }
        auto [fd, fn] = Split(from);
        ASSERT_TRUE(head_->Rename(fd, fn, Ino(dir), name, 0).ok()) << from << " -> " << path;
        std::map<std::string, int> moved;
        for (auto it = m.names.begin(); it != m.names.end();) {
          if (it->first == path || it->first.compare(0, path.size() + 1, path + "/") == 0) {
            it = m.names.erase(it);  // the replaced target
          } else {
            ++it;
          }
        }
        for (auto it = m.names.begin(); it != m.names.end();) {
          if (it->first == from || it->first.compare(0, from.size() + 1, from + "/") == 0) {
            moved[path + it->first.substr(from.size())] = it->second;
            it = m.names.erase(it);
          } else {
            ++it;
          }
        }
        m.names.insert(moved.begin(), moved.end());
        return;
      }
      case 6: {  // hard link
        if (exists || files.empty()) return;
        const std::string f = pick(files);
        ASSERT_TRUE(head_->Link(Ino(f), Ino(dir), name)) << f << " -> " << path;
        m.names[path] = m.names[f];
        return;
      }
      case 7: {  // unlink a file
        if (files.empty()) return;
        const std::string f = pick(files);
        auto [fd, fn] = Split(f);
        ASSERT_TRUE(head_->Unlink(fd, fn).ok()) << f;
        m.names.erase(f);
        return;
      }
      case 8: {  // rmdir an empty directory
        for (const auto& d : dirs) {
          if (d == "/" || !m.Children(d).empty()) continue;
          auto [pd, pn] = Split(d);
          ASSERT_TRUE(head_->RmDir(pd, pn).ok()) << d;
          m.names.erase(d);
          return;
        }
        return;
      }
      case 9: {  // chmod
        if (files.empty()) return;
        const std::string f = pick(files);
        FsSetAttr t;
        t.mode = 0600 | (rng() % 2 ? 040 : 0);
        ASSERT_TRUE(head_->SetAttr(Ino(f), t, nullptr));
        m.inodes[m.names[f]].mode = *t.mode;
        return;
      }
      case 10: {  // xattr
        auto all = m.Paths('f');
        if (all.empty()) return;
        const std::string f = pick(all);
        MFile& mf = m.inodes[m.names[f]];
        const std::string key = "user.k" + std::to_string(rng() % 3);
        if (mf.xattrs.count(key) && rng() % 2) {
          ASSERT_TRUE(head_->RemoveXattr(Ino(f), key).ok());
          mf.xattrs.erase(key);
        } else {
          const std::string v = test::RandomString(rng() % 40, rng());
          ASSERT_TRUE(head_->SetXattr(Ino(f), key, v, 0).ok());
          mf.xattrs[key] = v;
        }
        return;
      }
      case 11: {  // symlink
        if (exists) return;
        const std::string target = "../t" + std::to_string(rng() % 100);
        ASSERT_TRUE(head_->Symlink(Ino(dir), name, target, kUser)) << path;
        m.names[path] = m.next;
        m.inodes[m.next++] = MFile{'l', target, 0777, {}};
        return;
      }
    }
  }
};

class HeadModelSeeds : public HeadModelTest, public ::testing::WithParamInterface<uint64_t> {
 protected:
  void RunModel() {
    Model m;
    std::mt19937_64 rng(GetParam());
    for (int i = 0; i < 400; ++i) {
      Step(m, rng);
      if (HasFatalFailure()) return;
      if (i % 97 == 96) {
        CheckHead(m);
        SealReport r = Seal();
        CheckSnapshot(m, r.snapshot);
        CheckHead(m);
      }
      if (i % 131 == 130) {
        Reopen();  // a restart with unsealed changes in the journal
        CheckHead(m);
      }
      if (HasFatalFailure()) return;
    }
    SealReport r = Seal();
    CheckSnapshot(m, r.snapshot);
    Reopen();
    CheckHead(m);
    // The sequence built something worth comparing.
    EXPECT_GT(m.names.size(), 25u);
    EXPECT_GT(m.Paths('d').size(), 3u);
  }
};

TEST_P(HeadModelSeeds, RandomChangesSealsAndRestartsMatchTheModel) { RunModel(); }

// The same with the background packer racing every change: no idle delay
// and no age, so files are packed while they are written, cut, renamed,
// unlinked, sealed and restarted (a restart stops the packer as a kill
// would); every snapshot must still equal the model.
class HeadModelPackingSeeds : public HeadModelSeeds {
 protected:
  HeadModelPackingSeeds() {
    packer_.idle_ns = 0;
    packer_.max_age_ns = 0;
  }
};

TEST_P(HeadModelPackingSeeds, BackgroundPackingRacingChangesMatchesTheModel) { RunModel(); }

INSTANTIATE_TEST_SUITE_P(Seeds, HeadModelPackingSeeds, ::testing::Values(1, 2, 3, 4));
INSTANTIATE_TEST_SUITE_P(Seeds, HeadModelSeeds, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace cairn
