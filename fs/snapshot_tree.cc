#include "fs/snapshot_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "fs/stored_entry.h"

namespace cairn {

using namespace stored_entry;  // NOLINT: this file is its user

// What ContentReader keeps for one open file's sequential reads.
class SnapshotTree::File final : public OpenFile {
 public:
  std::unique_ptr<ContentReader::File> file;
};

SnapshotTree::SnapshotTree(TreeHost& host, Repository& repo, TreeCache& trees,
                           ContentReader& reader, ViewSource& views, MemoryUpkeep& upkeep,
                           const SnapshotTreeOptions& opts)
    : Tree(host),
      repo_(repo),
      trees_(trees),
      reader_(reader),
      views_(views),
      upkeep_(upkeep),
      opts_(opts),
      log_(repo.logger()),
      codecs_([&repo] { return repo.NewCodec(); }),
      read_ahead_(reader, *this) {
  if (opts_.tree_window_bytes > 0) {
    trees_by_window_ =
        std::make_unique<TreeFetcher>(repo, opts_.tree_window_bytes, opts_.tree_window_cache_bytes);
  }
  if (opts_.prefetch_threads > 0 && opts_.prefetch_depth > 0) {
    // 64k jobs of ~100 bytes: a bounded few MB even on a huge tree.
    prefetch_ = std::make_unique<TreePrefetcher>(
        opts_.prefetch_threads, 65536, [this](const TreePrefetcher::Job& j) { PrefetchDir(j); });
  }
}

SnapshotTree::~SnapshotTree() = default;

// Nothing in a snapshot ever changes: the kernel opens files itself and
// keeps their pages (fs/fuse_ops.cc).
TreePolicy SnapshotTree::Policy() const {
  TreePolicy p;
  p.writable = false;
  p.needs_open = false;
  p.keep_cache = true;
  return p;
}

Result<SnapshotTree::Resolved> SnapshotTree::Resolve(uint64_t ino) {
  Resolved r;
  r.ino = ino;
  auto view = views_.Current();
  if (const SynthNode* s = view->Find(ino); s && s->kind == SynthNode::kSnapshotRoot) {
    // A root is a directory made from its snapshot: read-only for all,
    // owned by the mount's user, stamped with the snapshot's time.
    const Snapshot& snap = view->snaps[s->snap];
    r.root = true;
    r.snap = snap.id;
    r.parent = s->parent;
    r.node.type = NodeType::kDir;
    r.node.name = s->name;
    r.node.mode = 0555;
    r.node.uid = opts_.uid;
    r.node.gid = opts_.gid;
    r.node.atime_ns = r.node.mtime_ns = r.node.ctime_ns = s->mtime_ns;
    r.node.subtree = snap.tree;
    return r;
  }
  auto raw = trees_.Locator(ino);
  if (!raw) return Err(Status::NotFound("inode " + std::to_string(ino) + " is unknown"));
  auto loc = DecodeLocator(*raw);
  if (!loc) {
    return Err(Status::Corruption("tree cache: inode " + std::to_string(ino) +
                                  " is damaged; remove the cache with `cairn cache clear`"));
  }
  if (!view->FindSnapshot(loc->snap)) {
    return Err(Status::NotFound("snapshot " + loc->snap.Short() + " was removed"));
  }
  CAIRN_RETURN_IF_ERROR(EnsureDir(loc->parent_tree));
  auto e = trees_.FindName(loc->parent_tree, loc->name);
  if (!e) return Err(Status::NotFound(loc->name + ": not in its directory"));
  CAIRN_ASSIGN_OR_RETURN(auto decoded, DecodeEntry(e->value, loc->name));
  r.snap = loc->snap;
  r.parent = loc->parent;
  r.parent_tree = loc->parent_tree;
  r.ordinal = e->ordinal;
  r.node = std::move(decoded.first);
  r.stored_bytes = decoded.second;
  return r;
}

Result<SnapshotTree::Dir> SnapshotTree::DirOf(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.node.type != NodeType::kDir) {
    return Err(Status::NotADirectory(host_.PathOf(ino) + " is not a directory"));
  }
  return Dir{ino, r.snap, r.node.subtree, r.parent};
}

FsAttr SnapshotTree::AttrOf(const Resolved& r) const {
  const Node& n = r.node;
  FsAttr a;
  a.ino = r.ino;
  a.mode = TypeBits(n.type) | (n.mode & 07777);
  a.nlink = n.type == NodeType::kFile ? std::max<uint32_t>(n.nlink, 1) : 1;
  a.uid = n.uid;
  a.gid = n.gid;
  a.size = n.type == NodeType::kSymlink ? n.symlink_target.size() : n.size;
  a.blocks = (r.stored_bytes + 511) / 512;
  a.rdev = n.rdev;
  a.atime_ns = n.atime_ns ? n.atime_ns : n.mtime_ns;
  a.mtime_ns = n.mtime_ns;
  a.ctime_ns = n.ctime_ns;
  a.immutable = true;
  return a;
}

Result<FsAttr> SnapshotTree::GetAttr(uint64_t ino) {
  upkeep_.Busy();  // a cached listing brings getattr/lookup, no readdir
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  return AttrOf(r);
}

Result<FsAttr> SnapshotTree::Lookup(uint64_t parent, std::string_view name) {
  upkeep_.Busy();
  CAIRN_ASSIGN_OR_RETURN(Dir d, DirOf(parent));
  CAIRN_RETURN_IF_ERROR(EnsureDir(d.tree));
  auto e = trees_.FindName(d.tree, name);
  if (!e) return Err(Status::NotFound(host_.PathOf(parent) + "/" + std::string(name)));
  Resolved r;
  r.snap = d.snap;
  CAIRN_ASSIGN_OR_RETURN(auto decoded, DecodeEntry(e->value, name));
  r.node = std::move(decoded.first);
  r.stored_bytes = decoded.second;
  TreeCache::Binding b = MakeBinding(d.snap, parent, d.tree, r.node, e->ordinal);
  CAIRN_RETURN_IF_ERROR(trees_.Bind(std::span(&b, 1)));
  CAIRN_RETURN_IF_ERROR(CheckBound(std::span(&b, 1)));
  r.ino = b.ino;
  if (r.node.type != NodeType::kDir) listing_policy_.FileLookedUp();
  return AttrOf(r);
}

Result<std::unique_ptr<OpenFile>> SnapshotTree::Open(uint64_t ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    return Err(Refuse("open for writing", ino));
  }
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.node.type == NodeType::kDir) {
    return Err(Status::IsADirectory(host_.PathOf(ino) + " is a directory"));
  }
  if (r.node.type != NodeType::kFile) {
    return Err(Status::InvalidArgument(host_.PathOf(ino) + " is not a regular file"));
  }
  upkeep_.Busy();
  auto f = std::make_unique<File>();
  f->ino = ino;
  f->file = reader_.Open(r.node, host_.PathOf(ino));
  // tar, cp -r, rsync and grep -r read a directory in readdir order.
  read_ahead_.Opened(r.parent_tree, r.parent, r.ordinal);
  return f;
}

Result<size_t> SnapshotTree::Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) {
  // Every OpenFile of this tree is a File (Open makes them).
  return reader_.Read(*static_cast<File&>(f).file, offset, out);
}

Result<size_t> SnapshotTree::ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  std::shared_ptr<File> f;
  {
    std::lock_guard<std::mutex> lock(ino_mu_);
    if (auto it = ino_files_.find(ino); it != ino_files_.end()) {
      ino_lru_.splice(ino_lru_.begin(), ino_lru_, it->second);
      f = *it->second;
    }
  }
  if (!f) {
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<OpenFile> opened, Open(ino, O_RDONLY));
    f.reset(static_cast<File*>(opened.release()));
    std::lock_guard<std::mutex> lock(ino_mu_);
    auto [it, fresh] = ino_files_.try_emplace(ino);
    if (fresh) {
      ino_lru_.push_front(f);
      it->second = ino_lru_.begin();
      if (ino_lru_.size() > kInodeFiles) {
        ino_files_.erase(ino_lru_.back()->ino);
        ino_lru_.pop_back();
      }
    } else {
      f = *it->second;  // a parallel read of the same inode got there first
    }
  }
  return reader_.Read(*f->file, offset, out);
}

Result<std::string> SnapshotTree::ReadLink(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.node.type != NodeType::kSymlink) {
    return Err(Status::InvalidArgument(host_.PathOf(ino) + " is not a symlink"));
  }
  return r.node.symlink_target;
}

// Only the entry's own attributes are listed: cairn's user.cairn.* are read
// by name (getfattr -n), so copies (rsync -X, cp -a, tar --xattrs) of the
// mount equal the source.
Result<std::vector<std::string>> SnapshotTree::ListXattr(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  std::vector<std::string> names;
  for (const auto& x : r.node.xattrs) names.push_back(x.name);
  return names;
}

Result<std::string> SnapshotTree::GetXattr(uint64_t ino, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  for (const auto& x : r.node.xattrs) {
    if (x.name == name) return x.value;
  }
  // An entry without an SELinux label says "not supported" rather than "no
  // such attribute": ls -l (and other libselinux users) then stop asking on
  // this st_dev instead of making one round trip per file. A stored label
  // is returned as usual.
  if (name == kSelinuxXattr) {
    return Err(Status::Unsupported(host_.PathOf(ino) + " has no SELinux label"));
  }
  if (name.starts_with(kAclXattrPrefix) && !kernel_checks_acls_.load()) {
    const Snapshot* snap = views_.Current()->FindSnapshot(r.snap);
    if (snap && snap->stats.acl_entries && *snap->stats.acl_entries == 0) {
      return Err(Status::Unsupported("snapshot " + snap->id.Short() + " holds no POSIX ACLs"));
    }
  }
  if (name == "user.cairn.snapshot") return r.snap.Hex();
  if (r.node.type == NodeType::kFile) {
    if (name == "user.cairn.sha256") return r.node.sha256.Hex();
    if (name == "user.cairn.state") return reader_.State(r.node);
  }
  return Err(Status::NotFound(host_.PathOf(ino) + " has no attribute " + std::string(name)));
}

std::optional<std::pair<std::string, uint64_t>> SnapshotTree::NameOf(uint64_t ino) {
  // Stored entries first: PathOf names every open file, through all its
  // directories, and only the last step up is a root.
  if (auto raw = trees_.Locator(ino)) {
    auto loc = DecodeLocator(*raw);
    if (!loc) return std::nullopt;
    return std::make_pair(std::move(loc->name), loc->parent);
  }
  if (const SynthNode* s = views_.Current()->Find(ino); s && s->kind == SynthNode::kSnapshotRoot) {
    return std::make_pair(s->name, s->parent);
  }
  return std::nullopt;
}

Status SnapshotTree::Scan(const Id& tree, uint64_t from,
                          const std::function<bool(uint64_t, Node&&)>& fn) {
  return ScanEntries(tree, from, [&](uint64_t ord, Node&& n, uint64_t) {
    return fn(ord, std::move(n));
  });
}

std::optional<WalkReadAhead::Dirs::Place> SnapshotTree::PlaceOf(uint64_t dir_ino) {
  auto dir = Resolve(dir_ino);  // the directory, as an entry of its parent
  if (!dir || dir->root) return std::nullopt;
  return Place{dir->parent_tree, dir->ordinal, dir->parent};
}

}  // namespace cairn
