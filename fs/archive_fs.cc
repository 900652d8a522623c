#include "fs/archive_fs.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/clock.h"
#include "common/coding.h"
#include "common/hex.h"
#include "common/mapped_pages.h"
#include "fs/archive_fs_internal.h"

namespace cairn {

using namespace archive_internal;  // NOLINT: this file is its user

ArchiveFs::ArchiveFs(Repository& repo, TreeCache& trees, ContentReader& reader,
                     const ArchiveFsOptions& opts)
    : repo_(repo),
      trees_(trees),
      reader_(reader),
      opts_(opts),
      log_(repo.logger()),
      codecs_([&repo] { return repo.NewCodec(); }) {
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

ArchiveFs::~ArchiveFs() = default;

Result<std::unique_ptr<ArchiveFs>> ArchiveFs::Create(Repository& repo, TreeCache& trees,
                                                     ContentReader& reader,
                                                     const ArchiveFsOptions& opts) {
  std::unique_ptr<ArchiveFs> fs(new ArchiveFs(repo, trees, reader, opts));
  CAIRN_RETURN_IF_ERROR(fs->Refresh());
  return fs;
}

std::shared_ptr<const SnapshotView> ArchiveFs::CurrentView() {
  std::lock_guard<std::mutex> lock(view_mu_);
  return view_;
}

Status ArchiveFs::Refresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  last_attempt_ns_.store(MonotonicNs());
  CAIRN_RETURN_IF_ERROR(repo_.SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(auto snaps, repo_.ListSnapshots());
  auto v = std::make_shared<SnapshotView>(BuildSnapshotView(std::move(snaps)));
  uint64_t pack_bytes = 0;
  CAIRN_RETURN_IF_ERROR(repo_.cache().ForEachPack([&](const Id&, uint64_t size) {
    pack_bytes += size;
  }));
  v->stats.stored_bytes = pack_bytes;
  v->built_ns = MonotonicNs();
  std::lock_guard<std::mutex> vlock(view_mu_);
  if (view_) {
    // The kernel keeps the layout directories' listings until their mtime
    // changes (fuse_ops.cc, OpOpenDir): a refresh that changes the list
    // stamps them with the time now (never earlier than the newest
    // snapshot), one that changes nothing keeps the old stamps.
    bool changed = view_->snaps.size() != v->snaps.size() ||
                   !std::equal(v->snaps.begin(), v->snaps.end(), view_->snaps.begin(),
                               [](const Snapshot& a, const Snapshot& b) { return a.id == b.id; });
    int64_t now = NowNs();
    for (auto& [ino, n] : v->nodes) {
      if (n.kind != SynthNode::kDir) continue;
      const SynthNode* old = view_->Find(ino);
      if (changed || !old) {
        n.mtime_ns = std::max(n.mtime_ns, now);
      } else {
        n.mtime_ns = old->mtime_ns;
      }
    }
    if (changed) log_.Info("mount: snapshot list refreshed: {} snapshots", v->snaps.size());
  }
  view_ = std::move(v);
  return Status::OK();
}

void ArchiveFs::MaybeRefresh() {
  int64_t now = MonotonicNs();
  if (now - last_attempt_ns_.load() < opts_.refresh_interval_ns) return;
  Status s = Refresh();
  // A failed refresh keeps the old list; the next try waits a full interval.
  if (!s.ok()) log_.Warn("mount: cannot refresh the snapshot list: {}", s.message());
}

void ArchiveFs::MaybeReleasePages() {
  // Every 20 ms the resident set is checked (/proc/self/statm, a few
  // microseconds); above kResidentBudget the LMDB maps are dropped (one
  // madvise each). A cold walk with the tree prefetch maps tens of MB of
  // tree-cache pages per 200 ms; dropping them more often than needed
  // costs re-faults of the B-trees' hot pages (a cold find of 13k
  // directories: 3.3 s with a sweep every 200 ms, 3.5-4.3 s every 20 ms),
  // dropping them every 200 ms let a 1M-file walk reach 188 MB.
  constexpr int64_t kInterval = 20'000'000;
  constexpr uint64_t kResidentBudget = 80 << 20;
  constexpr int64_t kTrimInterval = 200'000'000;
  int64_t now = MonotonicNs();
  int64_t last = last_release_ns_.load();
  if (now - last < kInterval || !last_release_ns_.compare_exchange_strong(last, now)) return;
  if (ResidentBytes() < kResidentBudget) return;
  trees_.ReleaseMappedPages();
  repo_.cache().ReleaseMappedPages();
  // Memory freed by other threads' work (FUSE buffers, decoded batches)
  // stays in glibc's per-thread arenas until trimmed (walks every arena:
  // less often).
  int64_t trimmed = last_trim_ns_.load();
  if (now - trimmed >= kTrimInterval && last_trim_ns_.compare_exchange_strong(trimmed, now)) {
    malloc_trim(0);
  }
}

Result<ArchiveFs::Resolved> ArchiveFs::Resolve(uint64_t ino) {
  Resolved r;
  r.ino = ino;
  r.view = CurrentView();
  if ((r.synth = r.view->Find(ino))) return r;
  auto raw = trees_.Locator(ino);
  if (!raw) return Err(Status::NotFound("inode " + std::to_string(ino) + " is unknown"));
  auto loc = DecodeLocator(*raw);
  if (!loc) {
    return Err(Status::Corruption("tree cache: inode " + std::to_string(ino) +
                                  " is damaged; remove the cache with `cairn cache clear`"));
  }
  if (!r.view->FindSnapshot(loc->snap)) {
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

Result<ArchiveFs::Dir> ArchiveFs::DirOf(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  Dir d;
  d.ino = ino;
  d.view = r.view;
  if (r.synth) {
    d.parent = r.synth->parent;
    if (r.synth->kind == SynthNode::kDir) {
      d.synth = r.synth;
      return d;
    }
    if (r.synth->kind == SynthNode::kSnapshotRoot) {
      d.snap = r.view->snaps[r.synth->snap].id;
      d.tree = r.view->snaps[r.synth->snap].tree;
      return d;
    }
  } else if (r.node.type == NodeType::kDir) {
    d.parent = r.parent;
    d.snap = r.snap;
    d.tree = r.node.subtree;
    return d;
  }
  return Err(Status::InvalidArgument(PathOf(ino) + " is not a directory"));
}

FsAttr ArchiveFs::AttrOf(const Resolved& r) const {
  FsAttr a;
  a.ino = r.ino;
  if (r.synth) {
    a.uid = opts_.uid;
    a.gid = opts_.gid;
    a.atime_ns = a.mtime_ns = a.ctime_ns = r.synth->mtime_ns;
    if (r.synth->kind == SynthNode::kSymlink) {
      a.mode = S_IFLNK | 0777;
      a.size = r.synth->target.size();
    } else {
      a.mode = S_IFDIR | 0555;
      a.size = r.synth->children.size();
      // A snapshot root never changes; the layout directories do.
      a.immutable = r.synth->kind == SynthNode::kSnapshotRoot;
    }
    return a;
  }
  const Node& n = r.node;
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

Result<FsAttr> ArchiveFs::GetAttr(uint64_t ino) {
  MaybeReleasePages();  // a cached listing brings getattr/lookup, no readdir
  // The kernel revalidates a layout directory's attributes before it lists
  // it from its cache: the periodic refresh happens here then.
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.synth && r.synth->kind == SynthNode::kDir) {
    MaybeRefresh();
    if (CurrentView() != r.view) {
      CAIRN_ASSIGN_OR_RETURN(r, Resolve(ino));  // the refresh swapped the view
    }
  }
  return AttrOf(r);
}

Result<FsAttr> ArchiveFs::Lookup(uint64_t parent, std::string_view name) {
  MaybeReleasePages();
  CAIRN_ASSIGN_OR_RETURN(Dir d, DirOf(parent));
  if (d.synth) {
    MaybeRefresh();
    CAIRN_ASSIGN_OR_RETURN(d, DirOf(parent));
    if (!d.synth) return Err(Status::NotFound(std::string(name)));
    auto it = std::lower_bound(d.synth->children.begin(), d.synth->children.end(),
                               std::make_pair(std::string(name), uint64_t{0}));
    if (it == d.synth->children.end() || it->first != name) {
      return Err(Status::NotFound(PathOf(parent) + "/" + std::string(name)));
    }
    return GetAttr(it->second);
  }
  CAIRN_RETURN_IF_ERROR(EnsureDir(d.tree));
  auto e = trees_.FindName(d.tree, name);
  if (!e) return Err(Status::NotFound(PathOf(parent) + "/" + std::string(name)));
  Resolved r;
  r.snap = d.snap;
  CAIRN_ASSIGN_OR_RETURN(auto decoded, DecodeEntry(e->value, name));
  r.node = std::move(decoded.first);
  r.stored_bytes = decoded.second;
  TreeCache::Binding b = MakeBinding(d.snap, parent, d.tree, r.node, e->ordinal);
  CAIRN_RETURN_IF_ERROR(trees_.Bind(std::span(&b, 1)));
  r.ino = b.ino;
  if (r.node.type != NodeType::kDir) listing_policy_.FileLookedUp();
  return AttrOf(r);
}

Result<std::unique_ptr<ArchiveFs::OpenFile>> ArchiveFs::Open(uint64_t ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    CAIRN_RETURN_IF_ERROR(CheckWritable(ino, "open for writing"));
  }
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.synth || r.node.type != NodeType::kFile) {
    return Err(Status::InvalidArgument(PathOf(ino) + " is not a regular file"));
  }
  MaybeReleasePages();
  auto f = std::make_unique<OpenFile>();
  f->ino = ino;
  f->file = reader_.Open(r.node, PathOf(ino));
  ReadAheadFrom(r);
  return f;
}

Result<size_t> ArchiveFs::Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) {
  return reader_.Read(*f.file, offset, out);
}

Result<size_t> ArchiveFs::ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  std::shared_ptr<OpenFile> f;
  {
    std::lock_guard<std::mutex> lock(ino_mu_);
    if (auto it = ino_files_.find(ino); it != ino_files_.end()) {
      ino_lru_.splice(ino_lru_.begin(), ino_lru_, it->second);
      f = *it->second;
    }
  }
  if (!f) {
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<OpenFile> opened, Open(ino, O_RDONLY));
    f = std::move(opened);
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

Result<std::string> ArchiveFs::ReadLink(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  if (r.synth && r.synth->kind == SynthNode::kSymlink) return r.synth->target;
  if (!r.synth && r.node.type == NodeType::kSymlink) return r.node.symlink_target;
  return Err(Status::InvalidArgument(PathOf(ino) + " is not a symlink"));
}

// Only the entry's own attributes are listed: cairn's user.cairn.* are read
// by name (getfattr -n), so copies (rsync -X, cp -a, tar --xattrs) of the
// mount equal the source.
Result<std::vector<std::string>> ArchiveFs::ListXattr(uint64_t ino) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  std::vector<std::string> names;
  if (!r.synth) {
    for (const auto& x : r.node.xattrs) names.push_back(x.name);
  }
  return names;
}

Result<std::string> ArchiveFs::GetXattr(uint64_t ino, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Resolved r, Resolve(ino));
  auto none = [&] {
    return Err(Status::NotFound(PathOf(ino) + " has no attribute " + std::string(name)));
  };
  // An entry without an SELinux label says "not supported" rather than "no
  // such attribute": ls -l (and other libselinux users) then stop asking on
  // this st_dev instead of making one round trip per file. A stored label
  // is returned as usual.
  auto no_selinux = [&] {
    return Err(Status::Unsupported(PathOf(ino) + " has no SELinux label"));
  };
  if (r.synth) {
    if (r.synth->kind == SynthNode::kSnapshotRoot && name == "user.cairn.snapshot") {
      return r.view->snaps[r.synth->snap].id.Hex();
    }
    if (ino == kRootIno && name == "user.cairn.control" && !opts_.control_socket.empty()) {
      return opts_.control_socket;
    }
    return name == kSelinuxXattr ? no_selinux() : none();
  }
  for (const auto& x : r.node.xattrs) {
    if (x.name == name) return x.value;
  }
  if (name == kSelinuxXattr) return no_selinux();
  if (name.starts_with(kAclXattrPrefix) && !kernel_checks_acls_.load()) {
    const Snapshot* snap = r.view->FindSnapshot(r.snap);
    if (snap && snap->stats.acl_entries && *snap->stats.acl_entries == 0) {
      return Err(Status::Unsupported("snapshot " + snap->id.Short() + " holds no POSIX ACLs"));
    }
  }
  if (name == "user.cairn.snapshot") return r.snap.Hex();
  if (r.node.type == NodeType::kFile) {
    if (name == "user.cairn.sha256") return r.node.sha256.Hex();
    if (name == "user.cairn.state") return reader_.State(r.node);
  }
  return none();
}

bool ArchiveFs::MayHoldAcls() {
  auto view = CurrentView();
  return std::any_of(view->snaps.begin(), view->snaps.end(), [](const Snapshot& s) {
    return !s.stats.acl_entries || *s.stats.acl_entries > 0;
  });
}

Result<FsStats> ArchiveFs::StatFs() { return CurrentView()->stats; }

void ArchiveFs::Forget(uint64_t, uint64_t) {}

Status ArchiveFs::CheckWritable(uint64_t ino, std::string_view op) {
  return Status::Locked(std::string(op) + " " + PathOf(ino) +
                        ": snapshots are read-only (the mount is read-only)");
}

std::string ArchiveFs::PathOf(uint64_t ino) {
  auto view = CurrentView();
  std::vector<std::string> parts;
  for (int depth = 0; depth < 4096 && ino != kRootIno; ++depth) {
    if (const SynthNode* s = view->Find(ino)) {
      parts.push_back(s->name);
      ino = s->parent;
      continue;
    }
    auto raw = trees_.Locator(ino);
    auto loc = raw ? DecodeLocator(*raw) : std::nullopt;
    if (!loc) {
      parts.push_back("<inode " + std::to_string(ino) + ">");
      break;
    }
    parts.push_back(loc->name);
    ino = loc->parent;
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += *it;
  }
  return path;
}

}  // namespace cairn
