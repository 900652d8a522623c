// HeadTree: the changes. Each one holds seal_mu shared (a seal waits for
// it and it waits for a seal), changes the nodes under mu, and returns only
// after its journal batch is committed (the acknowledgement point,
// doc/format.md "Head journal").
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>

#include "common/clock.h"
#include "common/coding.h"
#include "fs/head_state.h"
#include "fs/posix_acl.h"
#include "repo/local_fs.h"

namespace cairn {

namespace {

constexpr size_t kNameMax = 255;
constexpr std::string_view kAccessAcl = "system.posix_acl_access";

Node NewMeta(NodeType type, uint32_t mode, const FsCaller& who) {
  Node m;
  m.type = type;
  m.mode = mode & 07777;
  m.uid = who.uid;
  m.gid = who.gid;
  m.nlink = type == NodeType::kDir ? 2 : 1;
  m.mtime_ns = m.ctime_ns = m.atime_ns = NowNs();
  return m;
}

}  // namespace

Status HeadTree::CommitLocked(Change& c) {
  for (uint64_t ino : c.put) {
    auto it = s_->nodes.find(ino);
    if (it != s_->nodes.end() && it->second.dirty) {
      c.batch.PutInode(ino, EncodeHeadRecord(it->second));
    }
  }
  if (c.batch.empty()) return Status::OK();
  return s_->journal->Commit(c.batch);
}

void HeadTree::DirtyLocked(HeadNode& n, Change& c) {
  c.put.insert(n.ino);
  if (n.changed_ns == 0) n.changed_ns = NowNs();
  if (n.dirty || n.unlinked) return;
  n.dirty = true;
  // Its names must be found after a restart: each becomes a dirent of a
  // parent, which therefore is in the journal too (up to the root).
  for (const auto& [parent, name] : n.links) {
    if (HeadNode* p = FindLocked(parent)) SetNameLocked(*p, name, n.ino, c);
  }
}

void HeadTree::SetNameLocked(HeadNode& dir, std::string_view name, uint64_t ino, Change& c) {
  DirtyLocked(dir, c);
  dir.delta[std::string(name)] = ino;
  c.batch.PutDirent(dir.ino, name, ino);
  s_->bound.erase(std::make_pair(dir.ino, std::string(name)));
}

void HeadTree::ClearNameLocked(HeadNode& dir, std::string_view name, Change& c) {
  s_->bound.erase(std::make_pair(dir.ino, std::string(name)));
  DirtyLocked(dir, c);
  if (!dir.meta.subtree.IsZero()) {
    dir.delta[std::string(name)] = 0;  // hides the base's entry
    c.batch.PutDirent(dir.ino, name, 0);
  } else {
    dir.delta.erase(std::string(name));
    c.batch.DeleteDirent(dir.ino, name);
  }
}

Result<HeadNode*> HeadTree::NamedLocked(HeadNode& dir, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(dir, name));
  HeadNode* n = ino ? FindLocked(ino) : nullptr;
  if (!n) return Err(Status::NotFound("head" + PathLocked(dir.ino) + "/" + std::string(name)));
  return n;
}

void HeadTree::ChangedLocked(HeadNode& n, Change& c) {
  if (n.unlinked) return;  // in no directory: nothing to record
  DirtyLocked(n, c);
  for (const auto& [parent, name] : n.links) TouchLocked(parent, c);
}

void HeadTree::TouchLocked(uint64_t dir, Change& c) {
  HeadNode* d = FindLocked(dir);
  for (int depth = 0; d && depth < 4096; ++depth) {
    DirtyLocked(*d, c);
    if (d->touched || d->links.empty()) {
      d->touched = true;
      return;
    }
    d->touched = true;
    d = FindLocked(d->links.front().first);
  }
}

void HeadTree::StampDirLocked(HeadNode& dir, Change& c) {
  dir.meta.mtime_ns = dir.meta.ctime_ns = NowNs();
  DirtyLocked(dir, c);
  TouchLocked(dir.ino, c);
}

Status HeadTree::CheckNameLocked(HeadNode& dir, std::string_view name) {
  if (name.size() > kNameMax) {
    return Status::NameTooLong("head" + PathLocked(dir.ino) + ": name longer than 255 bytes");
  }
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("head" + PathLocked(dir.ino) + ": invalid name");
  }
  return Status::OK();
}

Result<HeadNode*> HeadTree::NewNodeLocked(HeadNode& parent, std::string_view name, Node meta,
                                          Change& c) {
  CAIRN_RETURN_IF_ERROR(CheckNameLocked(parent, name));
  CAIRN_ASSIGN_OR_RETURN(uint64_t existing, ChildLocked(parent, name));
  if (existing != 0) {
    return Err(Status::AlreadyExists("head" + PathLocked(parent.ino) + "/" + std::string(name) +
                                     " exists"));
  }
  HeadNode n;
  n.ino = InoOfKind(TreeKind::kHead, s_->next_ino++);
  n.meta = std::move(meta);
  n.links.emplace_back(parent.ino, std::string(name));
  n.base_gen = s_->base_gen;
  n.content_changed = n.is_file();
  n.touched = n.is_dir();
  n.nlookup = 1;  // the reply hands the kernel a reference
  const uint64_t ino = n.ino;
  HeadNode& ref = s_->nodes.emplace(ino, std::move(n)).first->second;
  DirtyLocked(ref, c);
  if (ref.is_dir()) ++parent.meta.nlink;
  Bytes next;
  PutFixed64(next, s_->next_ino);
  c.batch.PutMeta("next_ino", next);
  StampDirLocked(parent, c);
  return &ref;
}

void HeadTree::RemoveNameLocked(HeadNode& parent, std::string_view name, HeadNode& child,
                                Change& c) {
  std::erase(child.links, std::make_pair(parent.ino, std::string(name)));
  ClearNameLocked(parent, name, c);
  if (child.is_dir()) {
    parent.meta.nlink -= std::min<uint32_t>(parent.meta.nlink, 1);
    child.meta.nlink = 0;
  } else if (child.meta.nlink > 0) {
    --child.meta.nlink;
  }
  child.meta.ctime_ns = NowNs();
  StampDirLocked(parent, c);
  if (child.meta.nlink > 0) {
    DirtyLocked(child, c);
    for (const auto& [p, n] : child.links) TouchLocked(p, c);
    return;
  }
  // No name left: out of the journal now, out of memory (with its staged
  // data) once no one holds it open or known.
  child.unlinked = true;
  if (child.dirty) {
    c.batch.DeleteInode(child.ino);
    for (const auto& [n, ino] : child.delta) c.batch.DeleteDirent(child.ino, n);
    child.dirty = false;
  }
  c.put.erase(child.ino);
  if (child.opens == 0 && child.nlookup == 0) DropLocked(child.ino);
}

// --- the operations ---

Result<Tree::Created> HeadTree::Create(uint64_t parent, std::string_view name, uint32_t mode,
                                       int flags, const FsCaller& who) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  Change c;
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NewNodeLocked(*dir, name, NewMeta(NodeType::kFile, mode, who), c));
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  auto f = std::make_unique<File>();
  f->ino = n->ino;
  f->flags = flags;
  f->writer = (flags & O_ACCMODE) != O_RDONLY;
  ++n->opens;
  if (f->writer) ++n->writers;
  return Created{AttrOf(*n), std::move(f)};
}

Result<FsAttr> HeadTree::MkDir(uint64_t parent, std::string_view name, uint32_t mode,
                               const FsCaller& who) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  Change c;
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NewNodeLocked(*dir, name, NewMeta(NodeType::kDir, mode, who), c));
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return AttrOf(*n);
}

Result<FsAttr> HeadTree::MkNod(uint64_t parent, std::string_view name, uint32_t mode,
                               uint64_t rdev, const FsCaller& who) {
  // Files, fifos, sockets and devices (directories and symlinks have
  // their own operations).
  const std::optional<NodeType> type = TypeFromMode(mode);
  if (!type || *type == NodeType::kDir || *type == NodeType::kSymlink) {
    return Err(Status::InvalidArgument("mknod: unsupported file type"));
  }
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  Node meta = NewMeta(*type, mode, who);
  if (*type == NodeType::kCharDev || *type == NodeType::kBlockDev) meta.rdev = rdev;
  Change c;
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NewNodeLocked(*dir, name, std::move(meta), c));
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return AttrOf(*n);
}

Result<FsAttr> HeadTree::Symlink(uint64_t parent, std::string_view name, std::string_view target,
                                 const FsCaller& who) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  Node meta = NewMeta(NodeType::kSymlink, 0777, who);
  meta.symlink_target = std::string(target);
  meta.size = target.size();
  Change c;
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NewNodeLocked(*dir, name, std::move(meta), c));
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return AttrOf(*n);
}

Result<FsAttr> HeadTree::Link(uint64_t ino, uint64_t new_parent, std::string_view name) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n || n->unlinked) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  if (n->is_dir()) {
    return Err(Status::PermissionDenied("link " + PathLocked(ino) + ": a directory"));
  }
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(new_parent));
  CAIRN_RETURN_IF_ERROR(CheckNameLocked(*dir, name));
  CAIRN_ASSIGN_OR_RETURN(uint64_t existing, ChildLocked(*dir, name));
  if (existing != 0) {
    return Err(Status::AlreadyExists("head" + PathLocked(new_parent) + "/" + std::string(name) +
                                     " exists"));
  }
  Change c;
  n->links.emplace_back(new_parent, std::string(name));
  ++n->meta.nlink;
  n->meta.ctime_ns = NowNs();
  DirtyLocked(*n, c);
  SetNameLocked(*dir, name, ino, c);
  StampDirLocked(*dir, c);
  for (const auto& [p, nm] : n->links) TouchLocked(p, c);
  ++n->nlookup;
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return AttrOf(*n);
}

Status HeadTree::Unlink(uint64_t parent, std::string_view name) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NamedLocked(*dir, name));
  if (n->is_dir()) return Status::IsADirectory("head" + PathLocked(n->ino) + " is a directory");
  Change c;
  RemoveNameLocked(*dir, name, *n, c);
  return CommitLocked(c);
}

Status HeadTree::RmDir(uint64_t parent, std::string_view name) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  CAIRN_ASSIGN_OR_RETURN(HeadNode * n, NamedLocked(*dir, name));
  if (!n->is_dir()) {
    return Status::NotADirectory("head" + PathLocked(n->ino) + " is not a directory");
  }
  CAIRN_ASSIGN_OR_RETURN(auto entries, ListLocked(*n, false));
  if (!entries.empty()) return Status::NotEmpty("head" + PathLocked(n->ino) + " is not empty");
  Change c;
  RemoveNameLocked(*dir, name, *n, c);
  return CommitLocked(c);
}

Status HeadTree::Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                        std::string_view new_name, unsigned flags) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * from, DirLocked(parent));
  CAIRN_ASSIGN_OR_RETURN(HeadNode * to, DirLocked(new_parent));
  CAIRN_RETURN_IF_ERROR(CheckNameLocked(*to, new_name));
  CAIRN_ASSIGN_OR_RETURN(uint64_t src_ino, ChildLocked(*from, name));
  HeadNode* src = src_ino ? FindLocked(src_ino) : nullptr;
  if (!src) return Status::NotFound("head" + PathLocked(parent) + "/" + std::string(name));
  CAIRN_ASSIGN_OR_RETURN(uint64_t dst_ino, ChildLocked(*to, new_name));
  HeadNode* dst = dst_ino ? FindLocked(dst_ino) : nullptr;
  const std::string dst_path = "head" + PathLocked(new_parent) + "/" + std::string(new_name);
  // A directory cannot move below itself.
  auto inside = [&](uint64_t dir, uint64_t ancestor) {
    for (int depth = 0; depth < 4096; ++depth) {
      if (dir == ancestor) return true;
      HeadNode* d = FindLocked(dir);
      if (!d || d->links.empty()) return false;
      dir = d->links.front().first;
    }
    return false;
  };
  if (src->is_dir() && inside(new_parent, src_ino)) {
    return Status::InvalidArgument("rename " + PathLocked(src_ino) + " into itself");
  }
  Change c;
  if (flags & RENAME_EXCHANGE) {
    if (!dst) return Status::NotFound(dst_path);
    if (dst_ino == src_ino) return Status::OK();
    if (dst->is_dir() && inside(parent, dst_ino)) {
      return Status::InvalidArgument("rename " + PathLocked(dst_ino) + " into itself");
    }
    for (auto& l : src->links) {
      if (l.first == parent && l.second == name) l = {new_parent, std::string(new_name)};
    }
    for (auto& l : dst->links) {
      if (l.first == new_parent && l.second == new_name) l = {parent, std::string(name)};
    }
    DirtyLocked(*src, c);
    DirtyLocked(*dst, c);
    SetNameLocked(*from, name, dst_ino, c);
    SetNameLocked(*to, new_name, src_ino, c);
    if (src->is_dir() != dst->is_dir()) {
      HeadNode& gains = src->is_dir() ? *to : *from;
      HeadNode& loses = src->is_dir() ? *from : *to;
      ++gains.meta.nlink;
      --loses.meta.nlink;
    }
    src->meta.ctime_ns = dst->meta.ctime_ns = NowNs();
    StampDirLocked(*from, c);
    StampDirLocked(*to, c);
    return CommitLocked(c);
  }
  if (dst) {
    if (flags & RENAME_NOREPLACE) return Status::AlreadyExists(dst_path + " exists");
    if (dst_ino == src_ino) return Status::OK();  // two names of one file
    if (src->is_dir()) {
      if (!dst->is_dir()) return Status::NotADirectory(dst_path + " is not a directory");
      CAIRN_ASSIGN_OR_RETURN(auto entries, ListLocked(*dst, false));
      if (!entries.empty()) return Status::NotEmpty(dst_path + " is not empty");
    } else if (dst->is_dir()) {
      return Status::IsADirectory(dst_path + " is a directory");
    }
    RemoveNameLocked(*to, new_name, *dst, c);
  }
  // Move src: its old name goes (a whiteout over the base), the new one
  // points at the same inode.
  std::erase(src->links, std::make_pair(parent, std::string(name)));
  ClearNameLocked(*from, name, c);
  src->links.emplace_back(new_parent, std::string(new_name));
  DirtyLocked(*src, c);
  SetNameLocked(*to, new_name, src_ino, c);
  if (src->is_dir() && parent != new_parent) {
    --from->meta.nlink;
    ++to->meta.nlink;
  }
  src->meta.ctime_ns = NowNs();
  StampDirLocked(*from, c);
  StampDirLocked(*to, c);
  return CommitLocked(c);
}

Status HeadTree::Truncate(HeadNode& n, uint64_t size, Change& c) {
  if (!n.is_file()) return Status::IsADirectory("truncate " + PathLocked(n.ino) + ": not a file");
  if (size < n.meta.size) {
    s_->staged_total -= std::min(s_->staged_total, CutRanges(n.staged, size));
    Status st = s_->staging->Truncate(n.ino, size);
    if (!st.ok() && !st.Is(ErrorCode::kNotFound)) return st;
    n.base_len = std::min(n.base_len, size);
  }
  if (size != n.meta.size) {
    n.meta.size = size;
    n.content_changed = true;
    n.hash_valid = false;
    ++n.write_gen;
    QueuePackLocked(n);
  }
  (void)c;
  return Status::OK();
}

Result<FsAttr> HeadTree::SetAttr(uint64_t ino, const FsSetAttr& changes, OpenFile*) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  Change c;
  const int64_t now = NowNs();
  if (changes.mode) {
    n->meta.mode = *changes.mode & 07777;
    for (auto& x : n->meta.xattrs) {  // chmod changes the access ACL too
      if (x.name == kAccessAcl) x.value = AclWithMode(x.value, n->meta.mode);
    }
  }
  if (changes.uid) n->meta.uid = *changes.uid;
  if (changes.gid) n->meta.gid = *changes.gid;
  if (changes.size) {
    CAIRN_RETURN_IF_ERROR(Truncate(*n, *changes.size, c));
    if (!changes.mtime_ns) n->meta.mtime_ns = now;
  }
  if (changes.atime_ns) n->meta.atime_ns = *changes.atime_ns;
  if (changes.mtime_ns) n->meta.mtime_ns = *changes.mtime_ns;
  n->meta.ctime_ns = now;
  ChangedLocked(*n, c);
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return AttrOf(*n);
}

Result<size_t> HeadTree::Write(uint64_t ino, OpenFile*, uint64_t offset,
                               std::span<const uint8_t> data) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    HeadNode* n = FindLocked(ino);
    if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
    if (!n->is_file()) return Err(Status::IsADirectory(PathLocked(ino) + " is not a file"));
    if (opts_.staging_limit > 0) {
      const uint64_t added = UncoveredBytes(n->staged, ByteRange{offset, data.size()});
      if (s_->staged_total + added > opts_.staging_limit) {
        return Err(Status::NoSpace("head" + PathLocked(ino) + ": the staging area is full (" +
                                   std::to_string(s_->staged_total) + " of " +
                                   std::to_string(opts_.staging_limit) +
                                   " bytes): seal to store what is staged, or raise "
                                   "--staging-size"));
      }
    }
  }
  // The data reaches the staging file before the journal says it is there.
  CAIRN_RETURN_IF_ERROR(s_->staging->Write(ino, offset, data));
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  s_->staged_total += AddRange(n->staged, ByteRange{offset, data.size()});
  n->meta.size = std::max<uint64_t>(n->meta.size, offset + data.size());
  n->meta.mtime_ns = n->meta.ctime_ns = n->last_write_ns = NowNs();
  n->content_changed = true;
  n->hash_valid = false;
  ++n->write_gen;
  QueuePackLocked(*n);
  s_->unsynced.insert(ino);
  Change c;
  ChangedLocked(*n, c);
  CAIRN_RETURN_IF_ERROR(CommitLocked(c));
  return data.size();
}

// The last close of a file written: the hash of its staged bytes goes into
// the journal, so recovery after a power cut can tell whether they are all
// there (doc/format.md, "Recovery").
Status HeadTree::Release(std::unique_ptr<OpenFile> of) {
  auto* f = static_cast<File*>(of.get());
  std::vector<ByteRange> ranges;
  uint64_t gen = 0;
  const uint64_t ino = f->ino;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    HeadNode* n = FindLocked(ino);
    if (!n) return Status::OK();
    if (n->opens > 0) --n->opens;
    if (f->writer && n->writers > 0) --n->writers;
    if (n->writers == 0 && n->dirty && !n->staged.empty() && !n->hash_valid) {
      ranges = n->staged;
      gen = n->write_gen;
    }
    if (n->opens == 0 && n->nlookup == 0 && (n->unlinked || !n->dirty)) DropLocked(ino);
  }
  if (ranges.empty()) return Status::OK();
  auto h = s_->staging->Hash(ino, ranges);
  if (!h) return h.error();
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n || n->write_gen != gen || !n->dirty) return Status::OK();
  n->hash_valid = true;
  n->staged_hash = *h;
  Change c;
  c.put.insert(ino);
  return CommitLocked(c);
}

Status HeadTree::Fsync(uint64_t ino, OpenFile*, bool) {
  Status st = s_->staging->DataSync(ino);
  if (!st.ok() && !st.Is(ErrorCode::kNotFound)) return st;
  return s_->journal->Sync();
}

Status HeadTree::Fallocate(uint64_t ino, OpenFile*, int mode, uint64_t offset, uint64_t length) {
  // Space is not reserved (staged data goes to a sparse file); only the
  // size change of a plain fallocate is kept.
  if (mode & ~FALLOC_FL_KEEP_SIZE) {
    return Status::Unsupported("fallocate on head/: only plain allocation is supported");
  }
  if (mode & FALLOC_FL_KEEP_SIZE) return Status::OK();
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Status::NotFound("head/: inode " + std::to_string(ino) + " is gone");
  if (offset + length <= n->meta.size) return Status::OK();
  Change c;
  CAIRN_RETURN_IF_ERROR(Truncate(*n, offset + length, c));
  n->meta.mtime_ns = n->meta.ctime_ns = NowNs();
  ChangedLocked(*n, c);
  return CommitLocked(c);
}

Status HeadTree::SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                          int flags) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Status::NotFound("head/: inode " + std::to_string(ino) + " is gone");
  auto& xs = n->meta.xattrs;
  auto it = std::lower_bound(xs.begin(), xs.end(), name,
                             [](const Xattr& x, std::string_view k) { return x.name < k; });
  const bool present = it != xs.end() && it->name == name;
  if (present && (flags & XATTR_CREATE)) {
    return Status::AlreadyExists(PathLocked(ino) + ": attribute " + std::string(name) + " exists");
  }
  if (!present && (flags & XATTR_REPLACE)) {
    return Status::NotFound(PathLocked(ino) + ": no attribute " + std::string(name));
  }
  // An access ACL sets the mode's permission bits, and one the mode says
  // all of is not kept (what the kernel does for a local file system).
  std::optional<AclMode> acl;
  if (name == kAccessAcl) acl = ModeOfAcl(value);
  if (acl) n->meta.mode = (n->meta.mode & ~0777u) | acl->bits;
  if (acl && acl->equivalent) {
    if (present) xs.erase(it);
  } else if (present) {
    it->value = std::string(value);
  } else {
    xs.insert(it, Xattr{std::string(name), std::string(value)});
  }
  n->meta.ctime_ns = NowNs();
  Change c;
  ChangedLocked(*n, c);
  return CommitLocked(c);
}

Status HeadTree::RemoveXattr(uint64_t ino, std::string_view name) {
  std::shared_lock<std::shared_mutex> seal(s_->seal_mu);
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Status::NotFound("head/: inode " + std::to_string(ino) + " is gone");
  auto& xs = n->meta.xattrs;
  auto it = std::find_if(xs.begin(), xs.end(), [&](const Xattr& x) { return x.name == name; });
  if (it == xs.end()) return Status::NotFound(PathLocked(ino) + ": no attribute " + std::string(name));
  xs.erase(it);
  n->meta.ctime_ns = NowNs();
  Change c;
  ChangedLocked(*n, c);
  return CommitLocked(c);
}

}  // namespace cairn
