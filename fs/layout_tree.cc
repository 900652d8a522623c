#include "fs/layout_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

namespace cairn {

namespace {

// The head directory's node: its mtime is the mount's start (nothing in it
// changes; the session mounted on it shows head/'s own root).
SynthNode HeadDirNode() {
  SynthNode n;
  n.kind = SynthNode::kDir;
  n.name = "head";
  n.parent = LayoutTree::kRootIno;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  n.mtime_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  return n;
}

}  // namespace

LayoutTree::LayoutTree(TreeHost& host, ViewSource& views, uint32_t uid, uint32_t gid,
                       std::string control_socket, bool head_dir)
    : Tree(host),
      views_(views),
      uid_(uid),
      gid_(gid),
      control_socket_(std::move(control_socket)),
      head_dir_(head_dir),
      head_node_(HeadDirNode()) {}

// Read-only; its directories change on refresh (short kernel timeouts per
// entry: FsAttr::immutable is false), its symlinks never (a moved `latest`
// is a new inode).
TreePolicy LayoutTree::Policy() const { return TreePolicy{}; }

const SynthNode* LayoutTree::Own(const SnapshotView& view, uint64_t ino) const {
  if (ino == kHeadDirIno) return head_dir_ ? &head_node_ : nullptr;
  const SynthNode* n = view.Find(ino);
  return n && n->kind != SynthNode::kSnapshotRoot ? n : nullptr;
}

Result<const SynthNode*> LayoutTree::NodeOf(const SnapshotView& view, uint64_t ino) {
  if (const SynthNode* n = Own(view, ino)) return n;
  return Err(Status::NotFound("inode " + std::to_string(ino) + " is unknown"));
}

Result<const SynthNode*> LayoutTree::DirNodeOf(const SnapshotView& view, uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(const SynthNode* n, NodeOf(view, ino));
  if (n->kind != SynthNode::kDir) {
    return Err(Status::NotADirectory(host_.PathOf(ino) + " is not a directory"));
  }
  return n;
}

FsAttr LayoutTree::AttrOf(uint64_t ino, const SynthNode& n) const {
  FsAttr a;
  a.ino = ino;
  a.uid = uid_;
  a.gid = gid_;
  a.atime_ns = a.mtime_ns = a.ctime_ns = n.mtime_ns;
  if (n.kind == SynthNode::kSymlink) {
    a.mode = S_IFLNK | 0777;
    a.size = n.target.size();
  } else {
    // The head directory is a mount point for the head/ session (which
    // may need to be writable by its owner to mount on it, as fusermount3
    // asks).
    a.mode = S_IFDIR | (ino == kHeadDirIno ? 0755 : 0555);
    a.size = n.children.size();
  }
  return a;
}

Result<FsAttr> LayoutTree::GetAttr(uint64_t ino) {
  auto view = views_.Current();
  CAIRN_ASSIGN_OR_RETURN(const SynthNode* n, NodeOf(*view, ino));
  // The kernel revalidates a layout directory's attributes before it lists
  // it from its cache: the periodic refresh happens here then.
  if (n->kind == SynthNode::kDir) {
    views_.MaybeRefresh();
    if (auto now = views_.Current(); now != view) {  // the refresh swapped the view
      view = std::move(now);
      CAIRN_ASSIGN_OR_RETURN(n, NodeOf(*view, ino));
    }
  }
  return AttrOf(ino, *n);
}

Result<FsAttr> LayoutTree::Lookup(uint64_t parent, std::string_view name) {
  CAIRN_RETURN_IF_ERROR(DirNodeOf(*views_.Current(), parent));
  views_.MaybeRefresh();
  auto view = views_.Current();
  auto d = DirNodeOf(*view, parent);
  if (!d) return Err(Status::NotFound(std::string(name)));  // gone in the refresh
  if (parent == kRootIno && head_dir_ && name == head_node_.name) {
    return AttrOf(kHeadDirIno, head_node_);
  }
  const auto& children = (*d)->children;
  auto it = std::lower_bound(children.begin(), children.end(),
                             std::make_pair(std::string(name), uint64_t{0}));
  if (it == children.end() || it->first != name) {
    return Err(Status::NotFound(host_.PathOf(parent) + "/" + std::string(name)));
  }
  return host_.GetAttr(it->second);
}

Status LayoutTree::ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) {
  if (ino == kSnapshotsIno || ino == kRootIno) views_.MaybeRefresh();
  auto view = views_.Current();
  CAIRN_ASSIGN_OR_RETURN(const SynthNode* d, DirNodeOf(*view, ino));
  if (!ListDots(ino, d->parent, offset, fn)) return Status::OK();
  // The root with head_dir: "head" at cookie 2, the children one further.
  uint64_t first = 2;
  if (ino == kRootIno && head_dir_) {
    if (offset <= 2 &&
        !fn(FsDirEntry{head_node_.name, AttrOf(kHeadDirIno, head_node_), 3})) {
      return Status::OK();
    }
    first = 3;
  }
  for (uint64_t i = offset < first ? 0 : offset - first; i < d->children.size(); ++i) {
    const auto& [name, child] = d->children[i];
    const SynthNode* own = Own(*view, child);
    auto attr = own ? Result<FsAttr>(AttrOf(child, *own)) : host_.GetAttr(child);
    if (!attr) continue;  // gone in a refresh since
    if (!fn(FsDirEntry{name, *attr, i + first + 1})) return Status::OK();
  }
  return Status::OK();
}

// Nothing here is a regular file: directories, and symlinks the kernel
// follows before it opens anything.
Status LayoutTree::NotAFile(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(const SynthNode* n, NodeOf(*views_.Current(), ino));
  if (n->kind == SynthNode::kDir) {
    return Status::IsADirectory(host_.PathOf(ino) + " is a directory");
  }
  return Status::InvalidArgument(host_.PathOf(ino) + " is not a regular file");
}

Result<std::unique_ptr<OpenFile>> LayoutTree::Open(uint64_t ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    return Err(Refuse("open for writing", ino));
  }
  return Err(NotAFile(ino));
}

Result<size_t> LayoutTree::Read(OpenFile& f, uint64_t, std::span<uint8_t>) {
  return Err(NotAFile(f.ino));
}

Result<size_t> LayoutTree::ReadIno(uint64_t ino, uint64_t, std::span<uint8_t>) {
  return Err(NotAFile(ino));
}

Result<std::string> LayoutTree::ReadLink(uint64_t ino) {
  auto view = views_.Current();
  CAIRN_ASSIGN_OR_RETURN(const SynthNode* n, NodeOf(*view, ino));
  if (n->kind != SynthNode::kSymlink) {
    return Err(Status::InvalidArgument(host_.PathOf(ino) + " is not a symlink"));
  }
  return n->target;
}

Result<std::string> LayoutTree::GetXattr(uint64_t ino, std::string_view name) {
  CAIRN_RETURN_IF_ERROR(NodeOf(*views_.Current(), ino));
  if (ino == kRootIno && name == "user.cairn.control" && !control_socket_.empty()) {
    return control_socket_;
  }
  // "not supported" for a missing SELinux label: see SnapshotTree::GetXattr.
  if (name == "security.selinux") {
    return Err(Status::Unsupported(host_.PathOf(ino) + " has no SELinux label"));
  }
  return Err(Status::NotFound(host_.PathOf(ino) + " has no attribute " + std::string(name)));
}

Result<std::vector<std::string>> LayoutTree::ListXattr(uint64_t ino) {
  CAIRN_RETURN_IF_ERROR(NodeOf(*views_.Current(), ino));
  return std::vector<std::string>{};
}

std::optional<std::pair<std::string, uint64_t>> LayoutTree::NameOf(uint64_t ino) {
  auto view = views_.Current();
  const SynthNode* n = Own(*view, ino);
  if (!n) return std::nullopt;
  return std::make_pair(n->name, n->parent);
}

}  // namespace cairn
