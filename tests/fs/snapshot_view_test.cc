// SnapshotView and the inode-number scheme: the layout built from a
// snapshot list, and every number in the range of the tree that owns it.
#include "fs/snapshot_view.h"

#include <gtest/gtest.h>

#include <set>

#include "fs/inode_number.h"

namespace cairn {
namespace {

Snapshot Snap(uint8_t seed, int64_t time_s, std::string series, std::string host,
              std::vector<std::string> tags) {
  Snapshot s;
  s.id.bytes.fill(seed);
  s.tree.bytes.fill(static_cast<uint8_t>(seed + 100));
  s.time_ns = time_s * 1'000'000'000;
  s.series = std::move(series);
  s.hostname = std::move(host);
  s.tags = std::move(tags);
  s.stats.files = 10;
  s.stats.dirs = 2;
  s.stats.others = 1;
  return s;
}

std::vector<std::string> ChildNames(const SnapshotView& v, uint64_t ino) {
  std::vector<std::string> out;
  for (const auto& [name, child] : v.Find(ino)->children) out.push_back(name);
  return out;
}

TEST(InodeNumberTest, KindFieldPicksTheTreeAndNumbersStayPositive) {
  for (TreeKind k : {TreeKind::kLayout, TreeKind::kSnapshot, TreeKind::kHead}) {
    for (uint64_t n : {uint64_t{0}, uint64_t{1}, kInoInTreeMask, ~uint64_t{0}}) {
      const uint64_t ino = InoOfKind(k, n);
      EXPECT_EQ(KindOfIno(ino), k) << n;
      EXPECT_EQ(ino & kInoInTreeMask, n & kInoInTreeMask);
      EXPECT_LT(ino, uint64_t{1} << 63) << "negative to a signed reader";
    }
  }
  EXPECT_EQ(KindOfIno(1), TreeKind::kLayout) << "the root";
  // Hashes land in the kind's range, never on a fixed number.
  for (int i = 0; i < 1000; ++i) {
    const std::string part = std::to_string(i);
    for (TreeKind k : {TreeKind::kLayout, TreeKind::kSnapshot}) {
      const uint64_t h = HashIno(k, {"x", part});
      EXPECT_EQ(KindOfIno(h), k);
      EXPECT_GE(h & kInoInTreeMask, kFirstHashedIno);
    }
  }
  EXPECT_EQ(HashIno(TreeKind::kLayout, {"a", "bc"}), HashIno(TreeKind::kLayout, {"a", "bc"}));
  EXPECT_NE(HashIno(TreeKind::kLayout, {"ab", "c"}), HashIno(TreeKind::kLayout, {"a", "bc"}));
}

TEST(SnapshotViewTest, LayoutOfSnapshotsSeriesHostsAndTags) {
  // Given newest first: the view sorts by time.
  SnapshotView v = BuildSnapshotView({Snap(2, 2000, "web", "h1", {"t", "t"}),
                                      Snap(1, 1000, "web", "h1", {"t"}),
                                      Snap(3, 3000, "db/main", "", {})});
  ASSERT_EQ(v.snaps.size(), 3u);
  EXPECT_EQ(v.snaps[0].time_ns, 1'000'000'000'000);
  EXPECT_EQ(v.stats.files, 3u * 13);
  EXPECT_EQ(ChildNames(v, 1), (std::vector<std::string>{"hosts", "series", "snapshots", "tags"}));
  std::vector<std::string> names;
  for (const auto& s : v.snaps) names.push_back(SnapshotDirName(s));
  EXPECT_EQ(ChildNames(v, kSnapshotsIno),
            (std::vector<std::string>{names[0], names[1], names[2], "latest"}));
  EXPECT_EQ(ChildNames(v, kSeriesIno), (std::vector<std::string>{"db%2Fmain", "web"}));
  EXPECT_EQ(ChildNames(v, kHostsIno), (std::vector<std::string>{"h1"}));  // no empty host
  EXPECT_EQ(ChildNames(v, kTagsIno), (std::vector<std::string>{"t"}));

  // Every snapshot root is the snapshot tree's; every other node the layout's.
  std::set<uint64_t> inos;
  for (const auto& [ino, n] : v.nodes) {
    inos.insert(ino);
    const TreeKind want =
        n.kind == SynthNode::kSnapshotRoot ? TreeKind::kSnapshot : TreeKind::kLayout;
    EXPECT_EQ(KindOfIno(ino), want) << n.name;
    if (n.kind == SynthNode::kSnapshotRoot) {
      EXPECT_EQ(ino, SnapshotRootIno(v.snaps[n.snap].id));
      EXPECT_EQ(n.parent, kSnapshotsIno);
      EXPECT_EQ(n.mtime_ns, v.snaps[n.snap].time_ns);
    }
  }
  // snapshots/latest and a group's latest point at the newest snapshot.
  const SynthNode* latest = nullptr;
  for (const auto& [name, ino] : v.Find(kSnapshotsIno)->children) {
    if (name == "latest") latest = v.Find(ino);
  }
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->kind, SynthNode::kSymlink);
  EXPECT_EQ(latest->target, names[2]);
  uint64_t web = 0;
  for (const auto& [name, ino] : v.Find(kSeriesIno)->children) {
    if (name == "web") web = ino;
  }
  ASSERT_NE(web, 0u);
  EXPECT_EQ(ChildNames(v, web), (std::vector<std::string>{names[0], names[1], "latest"}));
  for (const auto& [name, ino] : v.Find(web)->children) {
    const SynthNode* l = v.Find(ino);
    EXPECT_EQ(l->target, "../../snapshots/" + (name == "latest" ? names[1] : name));
  }
  // A tag given twice on one snapshot links it once.
  uint64_t tag = v.Find(kTagsIno)->children[0].second;
  EXPECT_EQ(ChildNames(v, tag).size(), 3u);  // two snapshots and latest
  EXPECT_TRUE(v.FindSnapshot(v.snaps[1].id));
  Id unknown;
  unknown.bytes.fill(9);
  EXPECT_FALSE(v.FindSnapshot(unknown));

  // The same list gives the same numbers; a new snapshot moves `latest`.
  SnapshotView again = BuildSnapshotView({v.snaps[0], v.snaps[1], v.snaps[2]});
  for (const auto& [ino, n] : v.nodes) EXPECT_TRUE(again.Find(ino)) << n.name;
  SnapshotView more = BuildSnapshotView({v.snaps[0], v.snaps[1], v.snaps[2], Snap(4, 4000, "web", "h1", {})});
  std::set<uint64_t> before(inos);
  uint64_t new_latest = 0;
  for (const auto& [name, ino] : more.Find(kSnapshotsIno)->children) {
    if (name == "latest") new_latest = ino;
  }
  EXPECT_FALSE(before.count(new_latest)) << "the kernel may cache a symlink's target";
}

TEST(SnapshotViewTest, LayoutNamesEscapeWhatCannotBeAName) {
  EXPECT_EQ(LayoutName("web:/srv"), "web:%2Fsrv");
  EXPECT_EQ(LayoutName("100%"), "100%25");
  EXPECT_EQ(LayoutName(""), "%00");
  EXPECT_EQ(LayoutName("."), "%2E");
  EXPECT_EQ(LayoutName(".."), "%2E%2E");
  EXPECT_EQ(LayoutName("plain"), "plain");
}

TEST(SnapshotViewTest, EmptyListHasTheLayoutOnly) {
  SnapshotView v = BuildSnapshotView({});
  EXPECT_EQ(v.nodes.size(), 5u);
  EXPECT_TRUE(v.Find(kSnapshotsIno)->children.empty());
}

}  // namespace
}  // namespace cairn
