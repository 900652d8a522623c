#include "fs/archive_fs.h"

#include <algorithm>
#include <cassert>

namespace cairn {

ArchiveFs::ArchiveFs(Repository& repo, TreeCache& trees, ContentReader& reader,
                     const ArchiveFsOptions& opts)
    : views_(repo, opts.refresh_interval_ns),
      // The maps a walk fills: the decoded trees and the blob index.
      upkeep_([&trees, &repo] {
        trees.ReleaseMappedPages();
        repo.cache().ReleaseMappedPages();
      }) {
  layout_ = std::make_unique<LayoutTree>(*this, views_, opts.uid, opts.gid, opts.control_socket,
                                         opts.head_dir);
  SnapshotTreeOptions so;
  so.uid = opts.uid;
  so.gid = opts.gid;
  so.prefetch_threads = opts.prefetch_threads;
  so.prefetch_depth = opts.prefetch_depth;
  so.tree_window_bytes = opts.tree_window_bytes;
  so.tree_window_cache_bytes = opts.tree_window_cache_bytes;
  snapshots_ = std::make_unique<SnapshotTree>(*this, repo, trees, reader, views_, upkeep_, so);
  trees_[static_cast<size_t>(TreeKind::kLayout)] = layout_.get();
  trees_[static_cast<size_t>(TreeKind::kSnapshot)] = snapshots_.get();
}

ArchiveFs::~ArchiveFs() = default;

Result<std::unique_ptr<ArchiveFs>> ArchiveFs::Create(Repository& repo, TreeCache& trees,
                                                     ContentReader& reader,
                                                     const ArchiveFsOptions& opts) {
  std::unique_ptr<ArchiveFs> fs(new ArchiveFs(repo, trees, reader, opts));
  CAIRN_RETURN_IF_ERROR(fs->Refresh());
  return fs;
}

void ArchiveFs::AttachTree(TreeKind kind, Tree* tree) {
  // The layout and the snapshots are this class's own.
  assert(kind != TreeKind::kLayout && kind != TreeKind::kSnapshot);
  trees_[static_cast<size_t>(kind)] = tree;
}

Result<Tree*> ArchiveFs::Owner(uint64_t ino) const {
  if (Tree* t = TreeOf(ino)) return t;
  return Err(Status::NotFound("inode " + std::to_string(ino) + " is unknown"));
}

Result<FsAttr> ArchiveFs::Lookup(uint64_t parent, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->Lookup(parent, name);
}

Result<FsAttr> ArchiveFs::GetAttr(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->GetAttr(ino);
}

Status ArchiveFs::ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->ReadDir(ino, offset, fn);
}

Result<std::unique_ptr<OpenFile>> ArchiveFs::Open(uint64_t ino, int flags) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->Open(ino, flags);
}

// An OpenFile belongs to the tree of its inode (the one that opened it).
Result<size_t> ArchiveFs::Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(f.ino));
  return t->Read(f, offset, out);
}

Result<size_t> ArchiveFs::ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->ReadIno(ino, offset, out);
}

Status ArchiveFs::Release(std::unique_ptr<OpenFile> f) {
  if (!f) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(f->ino));
  return t->Release(std::move(f));
}

Result<std::string> ArchiveFs::ReadLink(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->ReadLink(ino);
}

Result<std::string> ArchiveFs::GetXattr(uint64_t ino, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->GetXattr(ino, name);
}

Result<std::vector<std::string>> ArchiveFs::ListXattr(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->ListXattr(ino);
}

void ArchiveFs::Forget(uint64_t ino, uint64_t nlookup) {
  if (Tree* t = TreeOf(ino)) t->Forget(ino, nlookup);
}

Result<FsAttr> ArchiveFs::SetAttr(uint64_t ino, const FsSetAttr& changes, OpenFile* f) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->SetAttr(ino, changes, f);
}

Result<FsAttr> ArchiveFs::MkNod(uint64_t parent, std::string_view name, uint32_t mode,
                                uint64_t rdev, const FsCaller& who) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->MkNod(parent, name, mode, rdev, who);
}

Result<FsAttr> ArchiveFs::MkDir(uint64_t parent, std::string_view name, uint32_t mode,
                                const FsCaller& who) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->MkDir(parent, name, mode, who);
}

Result<FsAttr> ArchiveFs::Symlink(uint64_t parent, std::string_view name,
                                  std::string_view target, const FsCaller& who) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->Symlink(parent, name, target, who);
}

// A link or rename within one tree is that tree's to answer. Between two
// trees it is CrossDevice (mv then copies), unless one of them refuses
// changes anyway: then its refusal (EROFS) says more.
Result<FsAttr> ArchiveFs::Link(uint64_t ino, uint64_t new_parent, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * from, Owner(ino));
  CAIRN_ASSIGN_OR_RETURN(Tree * to, Owner(new_parent));
  if (from == to || !from->Policy().writable) return from->Link(ino, new_parent, name);
  if (!to->Policy().writable) return to->Link(ino, new_parent, name);
  return Err(Status::CrossDevice("link " + PathOf(ino) + " into " + PathOf(new_parent) +
                                 ": different trees of the mount"));
}

Status ArchiveFs::Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                         std::string_view new_name, unsigned flags) {
  CAIRN_ASSIGN_OR_RETURN(Tree * from, Owner(parent));
  CAIRN_ASSIGN_OR_RETURN(Tree * to, Owner(new_parent));
  if (from == to || !from->Policy().writable) {
    return from->Rename(parent, name, new_parent, new_name, flags);
  }
  if (!to->Policy().writable) return to->Rename(parent, name, new_parent, new_name, flags);
  return Status::CrossDevice("rename " + PathOf(parent) + "/" + std::string(name) + " to " +
                             PathOf(new_parent) + ": different trees of the mount");
}

Status ArchiveFs::Unlink(uint64_t parent, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->Unlink(parent, name);
}

Status ArchiveFs::RmDir(uint64_t parent, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->RmDir(parent, name);
}

Result<Tree::Created> ArchiveFs::Create(uint64_t parent, std::string_view name, uint32_t mode,
                                        int flags, const FsCaller& who) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(parent));
  return t->Create(parent, name, mode, flags, who);
}

Result<size_t> ArchiveFs::Write(uint64_t ino, OpenFile* f, uint64_t offset,
                                std::span<const uint8_t> data) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->Write(ino, f, offset, data);
}

Status ArchiveFs::Fsync(uint64_t ino, OpenFile* f, bool datasync) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->Fsync(ino, f, datasync);
}

Status ArchiveFs::Fallocate(uint64_t ino, OpenFile* f, int mode, uint64_t offset,
                            uint64_t length) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->Fallocate(ino, f, mode, offset, length);
}

Status ArchiveFs::SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                           int flags) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->SetXattr(ino, name, value, flags);
}

Status ArchiveFs::RemoveXattr(uint64_t ino, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Tree * t, Owner(ino));
  return t->RemoveXattr(ino, name);
}

Result<FsStats> ArchiveFs::StatFs() { return views_.Current()->stats; }

TreePolicy ArchiveFs::Policy() const {
  TreePolicy all;
  for (const Tree* t : trees_) {
    if (!t) continue;
    const TreePolicy p = t->Policy();
    all.writable |= p.writable;
    all.needs_open |= p.needs_open;
    all.keep_cache &= p.keep_cache;
  }
  return all;
}

bool ArchiveFs::MayHoldAcls() {
  auto view = views_.Current();
  return std::any_of(view->snaps.begin(), view->snaps.end(), [](const Snapshot& s) {
    return !s.stats.acl_entries || *s.stats.acl_entries > 0;
  });
}

std::string ArchiveFs::PathOf(uint64_t ino) {
  std::vector<std::string> parts;
  for (int depth = 0; depth < 4096 && ino != kRootIno; ++depth) {
    Tree* t = TreeOf(ino);
    auto named = t ? t->NameOf(ino) : std::nullopt;
    if (!named) {
      parts.push_back("<inode " + std::to_string(ino) + ">");
      break;
    }
    parts.push_back(std::move(named->first));
    ino = named->second;
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += *it;
  }
  return path;
}

}  // namespace cairn
