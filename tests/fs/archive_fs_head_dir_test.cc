// The router's seams for head/ without HeadTree: the layout's "head"
// directory (ArchiveFsOptions::head_dir) and a tree plugged into the kHead
// slot (AttachTree), here a small in-memory writable tree.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fs/archive_fs.h"
#include "tests/fs/archive_fs_fixture.h"
#include "tests/fs/fake_writable_tree.h"

namespace cairn {
namespace {

using namespace archive_fs_test;  // NOLINT: the fixture
using test::FakeWritableTree;

std::vector<FsDirEntry> Entries(ArchiveFs& fs, uint64_t ino, uint64_t offset) {
  std::vector<FsDirEntry> out;
  Status s = fs.ReadDir(ino, offset, [&](const FsDirEntry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

TEST_F(ArchiveFsTest, HeadDirectoryIsListedOnlyWhenAsked) {
  Backup(store_);
  Mounted without = Mount(store_, root_ + "/trees");
  EXPECT_EQ(Names(*without.fs, ArchiveFs::kRootIno),
            (std::vector<std::string>{".", "..", "hosts", "series", "snapshots", "tags"}));
  auto none = without.fs->Lookup(ArchiveFs::kRootIno, "head");
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().Is(ErrorCode::kNotFound));
  EXPECT_FALSE(without.fs->GetAttr(LayoutTree::kHeadDirIno));

  Mounted with = Mount(store_, root_ + "/trees2", 30e9, 1, /*head_dir=*/true);
  ArchiveFs& fs = *with.fs;
  EXPECT_EQ(Names(fs, ArchiveFs::kRootIno),
            (std::vector<std::string>{".", "..", "head", "hosts", "series", "snapshots", "tags"}));
  auto head = fs.Lookup(ArchiveFs::kRootIno, "head");
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(head->ino, LayoutTree::kHeadDirIno);
  EXPECT_EQ(KindOfIno(head->ino), TreeKind::kLayout);
  EXPECT_EQ(head->mode, S_IFDIR | 0755u);
  EXPECT_FALSE(head->immutable);
  auto attr = fs.GetAttr(LayoutTree::kHeadDirIno);
  ASSERT_TRUE(attr);
  EXPECT_EQ(attr->mode, head->mode);
  EXPECT_EQ(fs.PathOf(LayoutTree::kHeadDirIno), "head");
  // Empty: "." and ".." (the root) only; nothing to look up, open or read.
  auto inside = Entries(fs, LayoutTree::kHeadDirIno, 0);
  ASSERT_EQ(inside.size(), 2u);
  EXPECT_EQ(inside[1].attr.ino, ArchiveFs::kRootIno);
  EXPECT_TRUE(fs.Lookup(LayoutTree::kHeadDirIno, "x").error().Is(ErrorCode::kNotFound));
  EXPECT_TRUE(fs.Open(LayoutTree::kHeadDirIno, O_RDONLY).error().Is(ErrorCode::kIsADirectory));
  // Read-only like the rest of the layout (the head/ session covers it).
  EXPECT_TRUE(fs.MkDir(LayoutTree::kHeadDirIno, "x", 0755, FsCaller{})
                  .error()
                  .Is(ErrorCode::kReadOnly));
}

TEST_F(ArchiveFsTest, RootListingResumesAtEveryCookieWithTheHeadDirectory) {
  Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees", 30e9, 1, /*head_dir=*/true);
  auto all = Entries(*m.fs, ArchiveFs::kRootIno, 0);
  ASSERT_EQ(all.size(), 7u);
  // Resuming after each entry gives exactly the entries that follow it.
  for (size_t i = 0; i < all.size(); ++i) {
    auto rest = Entries(*m.fs, ArchiveFs::kRootIno, all[i].next_offset);
    ASSERT_EQ(rest.size(), all.size() - i - 1) << "after " << all[i].name;
    for (size_t j = 0; j < rest.size(); ++j) EXPECT_EQ(rest[j].name, all[i + 1 + j].name);
  }
}

TEST_F(ArchiveFsTest, AttachedTreeServesTheHeadRange) {
  Snapshot s = Backup(store_);
  Mounted m = Mount(store_, root_ + "/trees", 30e9, 1, /*head_dir=*/true);
  ArchiveFs& fs = *m.fs;
  const uint64_t root = FakeWritableTree::kRootIno;
  EXPECT_TRUE(fs.GetAttr(root).error().Is(ErrorCode::kNotFound)) << "no tree in the slot yet";
  EXPECT_FALSE(fs.SpaceOf(root));
  FakeWritableTree head(fs);
  fs.AttachTree(TreeKind::kHead, &head);
  EXPECT_TRUE(fs.PolicyOf(root).writable);
  EXPECT_TRUE(fs.PolicyOf(root).needs_open);
  EXPECT_FALSE(fs.PolicyOf(ArchiveFs::kRootIno).writable) << "the layout's own policy";
  auto c = fs.Create(root, "f", 0644, O_WRONLY | O_CREAT, FsCaller{7, 8});
  ASSERT_TRUE(c) << c.error().message();
  const uint8_t data[] = {'a', 'b'};
  EXPECT_EQ(*fs.Write(c->attr.ino, c->file.get(), 0, data), 2u);
  EXPECT_EQ(fs.GetAttr(c->attr.ino)->size, 2u);
  EXPECT_TRUE(fs.Release(std::move(c->file)).ok());
  auto space = fs.SpaceOf(root);
  ASSERT_TRUE(space);
  EXPECT_EQ(space->total, head.space.total);
  EXPECT_FALSE(fs.SpaceOf(ArchiveFs::kRootIno)) << "the layout has no space of its own";
  EXPECT_TRUE(fs.Fallocate(c->attr.ino, nullptr, 0, 0, 10).ok());
  EXPECT_EQ(head.record().fallocates, 1);
  // Between the writable tree and a read-only one: the read-only tree's
  // refusal, or EXDEV when the read-only side is not the one asked.
  auto snap_dir = Walk(fs, InSnap(s, "sub"));
  ASSERT_TRUE(snap_dir);
  EXPECT_TRUE(fs.Rename(root, "f", snap_dir->ino, "f", 0).Is(ErrorCode::kReadOnly));
  EXPECT_TRUE(AsStatus(fs.Link(c->attr.ino, snap_dir->ino, "f")).Is(ErrorCode::kReadOnly));
  fs.AttachTree(TreeKind::kHead, nullptr);
  EXPECT_TRUE(fs.GetAttr(root).error().Is(ErrorCode::kNotFound));
}

}  // namespace
}  // namespace cairn
