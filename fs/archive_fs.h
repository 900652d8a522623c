// ArchiveFs: the mount's file system on inode numbers, without FUSE headers
// (fs/fuse_ops.cc translates). What it shows (doc/semantics.md):
//
//   /snapshots/<YYYY-MM-DDTHH:MM:SSZ>_<id8>/<backed-up absolute paths>
//   /snapshots/latest             -> <newest snapshot>           (symlink)
//   /series/<series>/<time>_<id8> -> ../../snapshots/<name>      (symlinks)
//   /series/<series>/latest, /hosts/<host>/..., /tags/<tag>/...  (symlinks)
//
// It is a router: every operation goes to the Tree (fs/tree.h) that owns
// the inode, picked from the kind field of the number (fs/inode_number.h):
// the layout (fs/layout_tree.h) or the snapshots' content
// (fs/snapshot_tree.h); the writable head/ (fs/head_tree.h) is a third
// tree with its own range, created by the mount and plugged in with
// AttachTree. Only this class looks at the kind of a number.
// Inode numbers are stable across remounts (doc/semantics.md).
//
// Errors: what the trees say (fs/errno_map.h maps them); a number of no
// tree is NotFound, and a link or rename between two trees CrossDevice.
//
// Thread safety: all methods may be called concurrently (the trees' own
// rules, fs/view_source.h for the snapshot list).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/tree_cache.h"
#include "common/status.h"
#include "fs/layout_tree.h"
#include "fs/memory_upkeep.h"
#include "fs/snapshot_tree.h"
#include "fs/snapshot_view.h"
#include "fs/tree.h"
#include "fs/view_source.h"
#include "repo/content_reader.h"
#include "repo/repository.h"

namespace cairn {

struct ArchiveFsOptions {
  int64_t refresh_interval_ns = 30'000'000'000;  // snapshot list at most this often
  uint32_t uid = 0, gid = 0;                     // owner of the layout and the roots
  std::string control_socket;  // shown as user.cairn.control on the root
  // The root lists an empty directory "head" (LayoutTree::kHeadDirIno), the
  // mount point of the head/ session (doc/semantics.md, "Two FUSE sessions").
  bool head_dir = false;
  // See SnapshotTreeOptions.
  size_t prefetch_threads = 1;
  int prefetch_depth = 2;
  uint64_t tree_window_bytes = 0;
  uint64_t tree_window_cache_bytes = 32 << 20;
};

class ArchiveFs final : public TreeHost {
 public:
  static constexpr uint64_t kRootIno = LayoutTree::kRootIno;
  static constexpr size_t kInodeFiles = SnapshotTree::kInodeFiles;
  using OpenFile = ::cairn::OpenFile;

  // repo, trees and reader must outlive the ArchiveFs. Loads the snapshot
  // list once.
  static Result<std::unique_ptr<ArchiveFs>> Create(Repository& repo, TreeCache& trees,
                                                   ContentReader& reader,
                                                   const ArchiveFsOptions& opts);
  ~ArchiveFs();

  // --- Tree's operations, routed by inode number (fs/tree.h) ---
  Result<FsAttr> Lookup(uint64_t parent, std::string_view name);
  Result<FsAttr> GetAttr(uint64_t ino) override;
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn);
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags);
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out);
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out);
  Status Release(std::unique_ptr<OpenFile> f);
  Result<std::string> ReadLink(uint64_t ino);
  Result<std::string> GetXattr(uint64_t ino, std::string_view name);
  Result<std::vector<std::string>> ListXattr(uint64_t ino);
  void Forget(uint64_t ino, uint64_t nlookup);
  Result<FsAttr> SetAttr(uint64_t ino, const FsSetAttr& changes, OpenFile* f);
  Result<FsAttr> MkNod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
                       const FsCaller& who);
  Result<FsAttr> MkDir(uint64_t parent, std::string_view name, uint32_t mode,
                       const FsCaller& who);
  Result<FsAttr> Symlink(uint64_t parent, std::string_view name, std::string_view target,
                         const FsCaller& who);
  Result<FsAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view name);
  Status Unlink(uint64_t parent, std::string_view name);
  Status RmDir(uint64_t parent, std::string_view name);
  Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                std::string_view new_name, unsigned flags);
  Result<Tree::Created> Create(uint64_t parent, std::string_view name, uint32_t mode, int flags,
                               const FsCaller& who);
  Result<size_t> Write(uint64_t ino, OpenFile* f, uint64_t offset, std::span<const uint8_t> data);
  Status Fsync(uint64_t ino, OpenFile* f, bool datasync);
  Status Fallocate(uint64_t ino, OpenFile* f, int mode, uint64_t offset, uint64_t length);
  Status SetXattr(uint64_t ino, std::string_view name, std::string_view value, int flags);
  Status RemoveXattr(uint64_t ino, std::string_view name);

  // --- the mount as a whole ---
  Result<FsStats> StatFs();
  // What the FUSE session may assume of every tree of the mount together:
  // writable if any is, needs_open if any does, keep_cache only if all do.
  TreePolicy Policy() const;
  // The policy of the tree owning ino (a number of no tree: the default).
  TreePolicy PolicyOf(uint64_t ino) const {
    const Tree* t = TreeOf(ino);
    return t ? t->Policy() : TreePolicy{};
  }
  // Space as the tree owning ino sees it (Tree::StatFs): nullopt when it
  // has none of its own (then StatFs gives the repository's figures).
  std::optional<FsSpaceInfo> SpaceOf(uint64_t ino) const {
    Tree* t = TreeOf(ino);
    return t ? t->StatFs() : std::nullopt;
  }
  // Plugs tree into the router slot of kind (not owned; null empties the
  // slot). Only for a kind no tree of its own serves (TreeKind::kHead), and
  // only while no FUSE session serves this ArchiveFs: the slots are read
  // without a lock. tree must outlive its time in the slot.
  void AttachTree(TreeKind kind, Tree* tree);
  // Whether some snapshot may hold POSIX ACLs (acl_entries unknown or > 0).
  bool MayHoldAcls();
  // Whether the kernel checks POSIX ACLs (FUSE_POSIX_ACL). It treats
  // "not supported" from an ACL read as an error in its permission checks,
  // so while this is true (the default) a missing ACL is always NotFound.
  void SetKernelChecksAcls(bool on) { snapshots_->SetKernelChecksAcls(on); }
  // Re-reads the snapshot list (and the new index segments) now.
  Status Refresh() { return views_.Refresh(); }
  // The mount's path of ino ("snapshots/2026-..._ab12cd34/etc/passwd"), for
  // messages.
  std::string PathOf(uint64_t ino) override;

  // Blocks until the tree prefetcher has no job queued or running (tests).
  void WaitForPrefetches() { snapshots_->WaitForPrefetches(); }
  // Directories decoded by the prefetcher so far (tests, status).
  uint64_t prefetched_dirs() const { return snapshots_->prefetched_dirs(); }
  // Listings answered from what the prefetcher prepared (tests, status).
  uint64_t ready_listings_served() const { return snapshots_->ready_listings_served(); }
  // Which listings gave file attributes (FsDirEntry::with_attributes).
  const ListingPolicy& listing_policy() const { return snapshots_->listing_policy(); }
  // Tree windows fetched and tree blobs decoded from them (zero when
  // tree_window_bytes is 0).
  TreeFetcherStats tree_window_stats() const { return snapshots_->tree_window_stats(); }

 private:
  ArchiveFs(Repository& repo, TreeCache& trees, ContentReader& reader,
            const ArchiveFsOptions& opts);
  // The tree owning ino; null when no tree owns its range.
  Tree* TreeOf(uint64_t ino) const { return trees_[static_cast<size_t>(KindOfIno(ino))]; }
  // TreeOf, or NotFound for a number no tree owns.
  Result<Tree*> Owner(uint64_t ino) const;

  ViewSource views_;
  MemoryUpkeep upkeep_;  // before the trees: they use it until destroyed
  std::unique_ptr<LayoutTree> layout_;
  std::unique_ptr<SnapshotTree> snapshots_;
  std::array<Tree*, kTreeKinds> trees_{};  // by TreeKind; null: no such tree
};

}  // namespace cairn
