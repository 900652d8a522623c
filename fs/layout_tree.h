// LayoutTree: the mount's layout, from the current SnapshotView:
//
//   /                                   snapshots/ series/ hosts/ tags/
//                                       (and head/, see below)
//   /snapshots/<time>_<id8>             (a snapshot root: SnapshotTree's)
//   /snapshots/latest                   -> <newest snapshot>
//   /series/<series>/<time>_<id8>       -> ../../snapshots/<name>
//   /series/<series>/latest, /hosts/<host>/..., /tags/<tag>/...
//
// It owns the directories and symlinks of the layout (numbers in the
// layout range, fs/inode_number.h); the snapshot roots it lists belong to
// the snapshot tree, which gives their attributes (TreeHost::GetAttr).
// Nothing in it is stored: it is rebuilt from the snapshot list on every
// refresh and grows with the number of snapshots only. Looking into or
// listing the root or snapshots/, and a getattr of a layout directory
// (the kernel revalidates it before listing from its cache), refresh the
// view when it is older than the refresh interval.
//
// With head_dir the root also lists "head", an empty directory of fixed
// number kHeadDirIno (mode 0755, the layout's owner): the mount point of
// the writable head/ session (doc/semantics.md, "Two FUSE sessions"), which
// covers it; it is listed right after "." and ".." (cookie 2), so the
// other entries keep their order and every cookie stays valid across
// refreshes.
//
// Thread safety: as Tree; the view is immutable and swapped whole.
#pragma once

#include <cstdint>
#include <string>

#include "fs/tree.h"
#include "fs/view_source.h"

namespace cairn {

class LayoutTree final : public Tree {
 public:
  static constexpr uint64_t kRootIno = 1;
  // The "head" directory (head_dir): a fixed number after the layout
  // directories' (fs/snapshot_view.h), below every hashed one.
  static constexpr uint64_t kHeadDirIno = 6;

  // uid, gid: owner of every entry. control_socket: shown as the root's
  // user.cairn.control (empty: none). head_dir: the root lists "head".
  LayoutTree(TreeHost& host, ViewSource& views, uint32_t uid, uint32_t gid,
             std::string control_socket, bool head_dir = false);

  TreePolicy Policy() const override;
  Result<FsAttr> Lookup(uint64_t parent, std::string_view name) override;
  Result<FsAttr> GetAttr(uint64_t ino) override;
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) override;
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags) override;
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) override;
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) override;
  Result<std::string> ReadLink(uint64_t ino) override;
  Result<std::string> GetXattr(uint64_t ino, std::string_view name) override;
  Result<std::vector<std::string>> ListXattr(uint64_t ino) override;
  std::optional<std::pair<std::string, uint64_t>> NameOf(uint64_t ino) override;

 private:
  // ino's node in view when this tree owns it (a directory or a symlink;
  // the head directory's is head_node_).
  const SynthNode* Own(const SnapshotView& view, uint64_t ino) const;
  Result<const SynthNode*> NodeOf(const SnapshotView& view, uint64_t ino);
  Result<const SynthNode*> DirNodeOf(const SnapshotView& view, uint64_t ino);
  FsAttr AttrOf(uint64_t ino, const SynthNode& n) const;
  // Why ino cannot be opened or read (IsADirectory, ...).
  Status NotAFile(uint64_t ino);

  ViewSource& views_;
  const uint32_t uid_, gid_;
  const std::string control_socket_;
  const bool head_dir_;
  const SynthNode head_node_;  // kHeadDirIno: empty, in the root
};

}  // namespace cairn
