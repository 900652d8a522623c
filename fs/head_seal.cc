// HeadTree: the seal (doc/semantics.md, "Sealing"). A seal is a backup
// whose Source is head/ itself: the backup engine walks only directories
// that changed (UnchangedSubtree keeps every other tree id), takes the
// stored content of files whose bytes did not change (KnownContent), and
// chunks the staged ones. Then head/ continues from the new snapshot:
// journal and staging are emptied, the nodes in memory re-read from it.
#include <regex>

#include "common/clock.h"
#include "fs/head_state.h"
#include "repo/backup.h"

namespace cairn {

namespace {

// Identity of entries new in head/ (they have no device of their own).
constexpr uint64_t kHeadDevice = 0x68656164;  // "head"

// rsync's temporary names: ".<name>.XXXXXX".
bool IsRsyncTemp(const std::string& name) {
  static const std::regex re(R"(^\..+\.[A-Za-z0-9]{6}$)");
  return std::regex_match(name, re);
}

}  // namespace

// head/ as a backup Source, at the moment of the seal (changes wait for
// the seal; reads and lookups go on, so every call takes mu).
class HeadTree::Source final : public ::cairn::Source {
 public:
  Source(HeadTree& t, const HeadPackerStats& packed) : t_(t), packed_(packed) {}

  std::vector<std::string> TakeLeftovers() {
    std::lock_guard<std::mutex> lock(leftover_mu_);
    std::sort(leftovers_.begin(), leftovers_.end());
    return std::move(leftovers_);
  }

  Result<EntryInfo> Stat(const std::string& path, bool) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    CAIRN_ASSIGN_OR_RETURN(Entry e, ResolveLocked(path));
    return InfoOf(e);
  }

  Result<std::vector<std::string>> List(const std::string& path, const EntryInfo&) override {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(t_.s_->mu);
      CAIRN_ASSIGN_OR_RETURN(Entry e, ResolveLocked(path));
      if (e.meta.type != NodeType::kDir) return Err(Status::NotADirectory(path));
      if (e.node) {
        CAIRN_ASSIGN_OR_RETURN(auto listed, t_.ListLocked(*e.node, false));
        for (auto& [name, ino] : listed) names.push_back(std::move(name));
      } else if (!e.meta.subtree.IsZero()) {
        CAIRN_ASSIGN_OR_RETURN(auto base, t_.s_->base_dirs.Get(e.meta.subtree));
        for (const auto& n : *base) names.push_back(n.name);
      }
    }
    for (const auto& n : names) {
      if (IsRsyncTemp(n)) {
        std::lock_guard<std::mutex> lock(leftover_mu_);
        leftovers_.push_back(path == "/" ? "/" + n : path + "/" + n);
      }
    }
    return names;
  }

  Result<std::string> ReadLink(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    CAIRN_ASSIGN_OR_RETURN(Entry e, ResolveLocked(path));
    return e.meta.symlink_target;
  }

  Result<std::vector<Xattr>> ReadXattrs(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    CAIRN_ASSIGN_OR_RETURN(Entry e, ResolveLocked(path));
    return e.meta.xattrs;
  }

  Result<std::unique_ptr<SourceFile>> Open(const std::string& path, const EntryInfo&) override {
    HeadContent c;
    EntryInfo info;
    {
      std::lock_guard<std::mutex> lock(t_.s_->mu);
      CAIRN_ASSIGN_OR_RETURN(Entry e, ResolveLocked(path));
      if (e.meta.type != NodeType::kFile) return Err(Status::InvalidArgument(path + " is not a file"));
      info = InfoOf(e);
      c.ino = e.node ? e.node->ino : 0;
      c.size = e.meta.size;
      c.base_len = e.node ? std::min(e.node->base_len, c.size) : c.size;
      if (e.node) c.staged = e.node->staged;
      c.meta = e.meta;
    }
    return std::unique_ptr<SourceFile>(
        new HeadSourceFile(*t_.s_->staging, t_.reader_, std::move(c), info));
  }

  std::string UserName(uint32_t uid) override { return t_.s_->names.UserName(uid); }
  std::string GroupName(uint32_t gid) override { return t_.s_->names.GroupName(gid); }

  std::optional<Id> UnchangedSubtree(const std::string& path, const EntryInfo&,
                                     const Node*) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    auto e = ResolveLocked(path);
    if (!e || e->meta.type != NodeType::kDir || e->meta.subtree.IsZero()) return std::nullopt;
    if (e->node && e->node->touched) return std::nullopt;
    return e->meta.subtree;
  }

  std::optional<KnownFile> KnownContent(const std::string& path, const EntryInfo&) override {
    std::lock_guard<std::mutex> lock(t_.s_->mu);
    auto e = ResolveLocked(path);
    if (!e || e->meta.type != NodeType::kFile) return std::nullopt;
    if (e->node && (e->node->content_changed || e->node->base_len < e->meta.size)) {
      // Packed in the background at the version the file still has.
      const HeadPacked* p = e->node->packed.get();
      if (!p || p->gen != e->node->write_gen || p->size != e->meta.size) return std::nullopt;
      return KnownFile{p->content, p->sha256, p->size, true};
    }
    if (e->meta.size > 0 && e->meta.content.empty()) return std::nullopt;
    return KnownFile{e->meta.content, e->meta.sha256, e->meta.size};
  }

  StoredBefore StoredBeforeRun() const override {
    return StoredBefore{packed_.data_blobs, packed_.raw_bytes, packed_.bytes_uploaded};
  }

  // head/ is the daemon's own: an entry it cannot read is an error, never
  // a snapshot without it (its staged data would be dropped with it).
  bool SkipUnreadable() const override { return false; }

 private:
  // An entry: its node when head/ has one, else the base's node.
  struct Entry {
    HeadNode* node = nullptr;
    Node meta;
  };

  Result<Entry> ResolveLocked(const std::string& path) {
    Entry e;
    e.node = t_.FindLocked(kRootIno);
    if (!e.node) return Err(Status::NotFound("head/: no root"));
    e.meta = e.node->meta;
    size_t pos = 1;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      const std::string_view name(path.data() + pos, slash - pos);
      pos = slash + 1;
      if (name.empty()) continue;
      if (e.meta.type != NodeType::kDir) return Err(Status::NotADirectory(path));
      HeadNode* child = nullptr;
      const Node* base = nullptr;
      BaseDirs::Nodes keep;
      if (e.node) {
        if (auto it = e.node->delta.find(name); it != e.node->delta.end()) {
          child = it->second ? t_.FindLocked(it->second) : nullptr;
          if (!child) return Err(Status::NotFound("head" + path));
        } else if (auto b = t_.s_->bound.find(std::make_pair(e.node->ino, std::string(name)));
                   b != t_.s_->bound.end()) {
          child = t_.FindLocked(b->second);
        }
      }
      if (!child) {
        if (e.meta.subtree.IsZero()) return Err(Status::NotFound("head" + path));
        CAIRN_ASSIGN_OR_RETURN(keep, t_.s_->base_dirs.Get(e.meta.subtree));
        base = BaseDirs::Find(*keep, name);
        if (!base) return Err(Status::NotFound("head" + path));
        // A changed member of a base hard link group answers for all.
        if (base->type != NodeType::kDir && base->nlink > 1) {
          if (auto g = t_.s_->base_ids.find({base->device, base->inode});
              g != t_.s_->base_ids.end()) {
            child = t_.FindLocked(g->second);
          }
        }
      }
      e.node = child;
      if (child) {
        e.meta = child->meta;
      } else {
        e.meta = *base;
        e.meta.name.clear();
      }
    }
    return e;
  }

  EntryInfo InfoOf(const Entry& e) const {
    EntryInfo info;
    info.type = e.meta.type;
    info.mode = e.meta.mode;
    info.uid = e.meta.uid;
    info.gid = e.meta.gid;
    info.size = e.meta.size;
    info.mtime_ns = e.meta.mtime_ns;
    info.ctime_ns = e.meta.ctime_ns;
    info.atime_ns = e.meta.atime_ns;
    info.nlink = e.meta.nlink;
    info.rdev = e.meta.rdev;
    if (!e.node || e.node->base_identity) {
      info.device = e.meta.device;
      info.inode = e.meta.inode;
    } else {
      info.device = kHeadDevice;
      info.inode = e.node->ino & kInoInTreeMask;
    }
    info.handle = e.node ? e.node->ino : 0;
    return info;
  }

  HeadTree& t_;
  const HeadPackerStats packed_;
  std::mutex leftover_mu_;
  std::vector<std::string> leftovers_;  // GUARDED_BY(leftover_mu_)
};

Result<SealReport> HeadTree::Seal(const SealRequest& req, const std::atomic<bool>* cancel) {
  std::unique_lock<std::shared_mutex> seal(s_->seal_mu);
  s_->sealing = true;
  struct Reset {
    std::atomic<bool>& flag;
    ~Reset() { flag = false; }
  } reset{s_->sealing};
  const int64_t start = NowNs();
  // The background packer stops and stores what it packed, so every
  // result the walker takes names indexed blobs (a failure here costs only
  // the reuse: the walker reads a file whose blobs are not indexed).
  HeadPacker* packer = s_->packer.get();  // changes only in Open and the destructor
  struct Resume {
    HeadPacker* p;
    ~Resume() {
      if (p) p->Resume();
    }
  } resume{packer};
  HeadPackerStats packed;
  if (packer) {
    if (Status p = packer->Pause(); !p.ok()) {
      log_.Warn("seal: background packs not all stored ({}); the seal stores those files itself",
                p.message());
    }
    packed = packer->stats();
  }
  Source source(*this, packed);
  BackupOptions o;
  o.paths = {"/"};
  o.series = opts_.series;
  o.hostname = opts_.hostname;
  o.tags = req.tags;
  o.threads = opts_.seal_threads;
  if (base_) o.parent = base_->id;
  auto r = RunBackup(repo_, source, o, nullptr, nullptr, cancel);
  if (!r) {
    return Err(Status(r.error().code(), "seal of head/ (nothing was lost; head/ is unchanged): " +
                                            r.error().message()));
  }
  if (packer) packer->ResetStats();
  SealReport rep;
  rep.parent = base_ ? std::optional<Id>(base_->id) : std::nullopt;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    RebaseLocked(r->snapshot);
  }
  CAIRN_RETURN_IF_ERROR(s_->journal->Sync());
  const SnapshotStats& st = r->snapshot.stats;
  rep.snapshot = r->snapshot.id;
  rep.name = SnapshotDirName(r->snapshot);
  rep.files = st.files;
  rep.dirs = st.dirs;
  rep.others = st.others;
  rep.files_new = st.files_new;
  rep.files_changed = st.files_changed;
  rep.files_unmodified = st.files_unmodified;
  rep.bytes = st.bytes;
  rep.bytes_read = st.bytes_read;
  rep.stored_bytes_added = st.stored_bytes_added;
  rep.trees_written = r->trees_written;
  rep.skipped = r->skipped;
  rep.duration_ns = NowNs() - start;
  rep.leftover_temp_files = source.TakeLeftovers();
  log_.Info("seal: snapshot {} of series {}: {} files ({} new, {} changed), {} trees written, "
            "{} bytes stored",
            r->snapshot.id.Short(), opts_.series, st.files, st.files_new, st.files_changed,
            r->trees_written, st.stored_bytes_added);
  return rep;
}

// head/ continues from the sealed snapshot: the journal starts empty on it
// (one transaction), every node in memory re-reads its metadata from it
// (FreshLocked; parents first), and staged data now stored is deleted.
void HeadTree::RebaseLocked(const Snapshot& sealed) {
  State& s = *s_;
  base_ = sealed;
  s.base_root = sealed.tree;
  ++s.base_gen;
  Change c;
  c.batch.ClearEntries();
  c.batch.PutMeta("base", sealed.id.view());
  for (auto& [ino, n] : s.nodes) {
    if (n.unlinked) continue;  // open after its last name went: not sealed
    n.dirty = false;
    n.touched = false;
    n.suspect = false;
    n.delta.clear();
    n.changed_ns = 0;
    for (const auto& link : n.links) s.bound[link] = ino;
  }
  s.base_ids.clear();
  s.listings.clear();
  std::vector<uint64_t> inos;
  inos.reserve(s.nodes.size());
  for (const auto& [ino, n] : s.nodes) inos.push_back(ino);
  for (uint64_t ino : inos) FindLocked(ino);  // FreshLocked, parents first
  Status st = s.journal->Commit(c.batch);
  if (!st.ok()) {
    // The snapshot is complete; head/ will seal the same content again.
    log_.Warn("seal: head/ journal not reset ({}); the next seal repeats this one",
              st.message());
  }
}

}  // namespace cairn
