// SnapshotView: the synthetic part of the mount (root, snapshots/, series/,
// hosts/, tags/, the snapshot roots and the symlinks), built from one
// snapshot list and never changed afterwards; ViewSource (fs/view_source.h)
// swaps in a new one on refresh. Its size grows with the number of
// snapshots only. LayoutTree shows it; SnapshotTree finds its roots in it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/id.h"
#include "fs/inode_number.h"
#include "repo/snapshot.h"

namespace cairn {

// Fixed inode numbers of the layout (the root is 1; all in the layout
// tree's range, fs/inode_number.h).
inline constexpr uint64_t kSnapshotsIno = 2;
inline constexpr uint64_t kSeriesIno = 3;
inline constexpr uint64_t kHostsIno = 4;
inline constexpr uint64_t kTagsIno = 5;
// A `latest` symlink's number includes its target snapshot, so a refresh
// that moves it makes a new inode: the kernel may cache symlink targets.

struct FsStats {
  uint64_t stored_bytes = 0;  // bytes of all packs in the repository
  uint64_t files = 0;         // entries over all snapshots
  uint32_t block_size = 4096;
  uint32_t name_max = 255;
};

struct SynthNode {
  enum Kind { kDir, kSymlink, kSnapshotRoot } kind = kDir;
  std::string name;
  uint64_t parent = 1;
  std::string target;  // symlinks
  int64_t mtime_ns = 0;
  size_t snap = SIZE_MAX;  // kSnapshotRoot: index into SnapshotView::snaps
  std::vector<std::pair<std::string, uint64_t>> children;  // dirs, sorted by name
};

struct SnapshotView {
  std::vector<Snapshot> snaps;  // oldest first
  std::unordered_map<Id, size_t, IdHash> by_id;
  std::unordered_map<uint64_t, SynthNode> nodes;
  FsStats stats;
  int64_t built_ns = 0;  // monotonic

  const SynthNode* Find(uint64_t ino) const {
    auto it = nodes.find(ino);
    return it == nodes.end() ? nullptr : &it->second;
  }
  const Snapshot* FindSnapshot(const Id& id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : &snaps[it->second];
  }
};

// Builds the layout for snaps (oldest first). stats.files is filled from
// the snapshots; the caller adds repository figures.
SnapshotView BuildSnapshotView(std::vector<Snapshot> snaps);

// A series, host or tag as a directory name: '%' and '/' percent-encoded
// ("web:/srv" -> "web:%2Fsrv"), "" "." ".." as "%00" "%2E" "%2E%2E".
std::string LayoutName(std::string_view key);
// Inode number of the snapshot root with this id: the snapshot tree's
// (fs/inode_number.h), like every entry below it.
uint64_t SnapshotRootIno(const Id& snap);

}  // namespace cairn
