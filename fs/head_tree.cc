// HeadTree: opening and recovery, lookups, listings and opens. Reads are in
// fs/head_read.cc, changes in fs/head_tree_ops.cc, the seal in
// fs/head_seal.cc.
#include "fs/head_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "common/clock.h"
#include "common/coding.h"
#include "fs/head_state.h"
#include "fs/stored_entry.h"

namespace cairn {

namespace {

constexpr size_t kListingsKept = 16;

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

}  // namespace

HeadTree::HeadTree(TreeHost& host, Repository& repo, ContentReader& reader, LocalFiles& files,
                   const HeadTreeOptions& opts)
    : Tree(host),
      s_(std::make_unique<State>(repo)),
      repo_(repo),
      reader_(reader),
      files_(files),
      opts_(opts),
      log_(repo.logger()) {}

HeadTree::~HeadTree() {
  StopPacking();
  {
    std::lock_guard<std::mutex> lock(s_->sync_mu);
    s_->stop = true;
  }
  s_->sync_cv.notify_all();
  if (s_->sync_thread.joinable()) s_->sync_thread.join();
  Status st = SyncAll();
  if (!st.ok()) log_.Warn("head/: final sync: {}", st.message());
}

Result<std::unique_ptr<HeadTree>> HeadTree::Open(TreeHost& host, Repository& repo,
                                                 ContentReader& reader, LocalFiles& files,
                                                 const HeadTreeOptions& opts) {
  std::unique_ptr<HeadTree> t(new HeadTree(host, repo, reader, files, opts));
  CAIRN_RETURN_IF_ERROR(t->Recover());
  t->StartPacking();
  t->s_->sync_thread = std::thread([p = t.get()] { p->SyncLoop(); });
  return t;
}

TreePolicy HeadTree::Policy() const {
  TreePolicy p;
  p.writable = true;
  // Nothing is kept per open file: reads and writes go by inode, and a
  // changed file's hash is taken once it is idle (SyncLoop), not at its
  // last close. So the kernel opens files itself (no OPEN and RELEASE per
  // open: rsync opens every file it skips) and keeps their pages: every
  // change of head/ comes through the kernel, and a seal changes no bytes.
  p.needs_open = false;
  p.keep_cache = true;
  return p;
}

// doc/format.md, "Head journal": recovery.
Status HeadTree::Recover() {
  State& s = *s_;
  CAIRN_ASSIGN_OR_RETURN(s.staging, HeadStaging::Open(opts_.staging_dir, files_));
  CAIRN_ASSIGN_OR_RETURN(s.journal, HeadJournal::Open(opts_.staging_dir + "/journal"));
  const std::string where = opts_.staging_dir;
  CAIRN_ASSIGN_OR_RETURN(auto series, s.journal->GetMeta("series"));
  if (series && AsChars(*series) != opts_.series) {
    return Status::InvalidArgument("head/ staging " + where + " belongs to series \"" +
                                   std::string(AsChars(*series)) + "\", not \"" +
                                   opts_.series + "\" (use another --staging-dir)");
  }
  CAIRN_ASSIGN_OR_RETURN(auto base_id, s.journal->GetMeta("base"));
  if (base_id && base_id->size() == Id::kSize) {
    const Id id = Id::FromView(*base_id);
    CAIRN_ASSIGN_OR_RETURN(auto snaps, repo_.ListSnapshots());
    for (auto& snap : snaps) {
      if (snap.id == id) base_ = std::move(snap);
    }
    if (!base_) {
      return Status::NotFound("head/ in " + where + " continues snapshot " + id.Short() +
                              ", which is no longer in the repository; move " + where +
                              " away to start head/ from the latest snapshot of series " +
                              opts_.series);
    }
  } else if (!base_id) {
    auto latest = repo_.FindSnapshot("latest", opts_.series);
    if (latest) {
      base_ = std::move(*latest);
    } else if (!latest.error().Is(ErrorCode::kNotFound)) {
      return latest.error();
    }
  }
  s.base_root = base_ ? base_->tree : Id();
  CAIRN_ASSIGN_OR_RETURN(auto next, s.journal->GetMeta("next_ino"));
  if (next && next->size() == 8) s.next_ino = DecodeFixed64(next->data());

  std::lock_guard<std::mutex> lock(s.mu);
  CAIRN_RETURN_IF_ERROR(s.journal->ForEachInode([&](uint64_t ino, ByteView rec) -> Status {
    CAIRN_ASSIGN_OR_RETURN(HeadNode n, DecodeHeadRecord(ino, rec));
    n.base_gen = s.base_gen;
    s.staged_total += n.StagedBytes();
    if (n.base_identity && !n.is_dir() && n.meta.nlink > 1) {
      s.base_ids[{n.meta.device, n.meta.inode}] = ino;
    }
    s.next_ino = std::max(s.next_ino, (ino & kInoInTreeMask) + 1);
    s.nodes.emplace(ino, std::move(n));
    return Status::OK();
  }));
  uint64_t orphans = 0;
  CAIRN_RETURN_IF_ERROR(s.journal->ForEachDirent(
      [&](uint64_t parent, std::string_view name, uint64_t child) -> Status {
        auto it = s.nodes.find(parent);
        if (it == s.nodes.end() || (child != 0 && !s.nodes.count(child))) {
          ++orphans;
          return Status::OK();
        }
        it->second.delta.emplace(std::string(name), child);
        return Status::OK();
      }));
  if (orphans > 0) log_.Warn("head/: {} journal entries without their inode ignored", orphans);
  if (!s.nodes.count(kRootIno)) {
    HeadNode root;
    root.ino = kRootIno;
    root.meta.type = NodeType::kDir;
    root.meta.mode = 0755;
    root.meta.uid = opts_.uid;
    root.meta.gid = opts_.gid;
    root.meta.nlink = 2;
    root.meta.mtime_ns = root.meta.ctime_ns = root.meta.atime_ns =
        base_ ? base_->time_ns : NowNs();
    root.meta.subtree = s.base_root;
    root.base_gen = s.base_gen;
    s.nodes.emplace(kRootIno, std::move(root));
  }

  // After a power cut (another boot) staged data that was not synced may be
  // gone: a file whose staged bytes do not hash as recorded gets mtime 0, so
  // rsync's quick check sends it again. The same boot: the page cache kept
  // every byte written (a kill -9 loses nothing acknowledged).
  CAIRN_ASSIGN_OR_RETURN(auto boot, s.journal->GetMeta("boot_id"));
  const std::string boot_now = BootId();
  Change c;
  if (boot && AsChars(*boot) != boot_now) {
    for (auto& [ino, n] : s.nodes) {
      if (!n.is_file() || n.staged.empty()) continue;
      bool ok = n.hash_valid;
      if (ok) {
        auto h = s.staging->Hash(ino, n.staged);
        ok = h && *h == n.staged_hash;
      }
      if (!ok) {
        n.suspect = true;
        n.meta.mtime_ns = 0;
        c.put.insert(ino);
        log_.Warn("head/{}: staged data may be incomplete after a power cut; its time is set to "
                  "1970 so the next rsync sends it again",
                  PathLocked(ino));
      }
    }
  }
  // Staging files the journal does not know: left by a change that was
  // never acknowledged.
  CAIRN_ASSIGN_OR_RETURN(auto present, s.staging->List());
  for (uint64_t ino : present) {
    auto it = s.nodes.find(ino);
    if (it == s.nodes.end() || it->second.staged.empty()) (void)s.staging->Remove(ino);
  }
  c.batch.PutMeta("series", AsBytes(opts_.series));
  c.batch.PutMeta("boot_id", AsBytes(boot_now));
  // Empty: head/ started empty, and stays on no base even when the series
  // gets a snapshot from elsewhere (its changes were made on no base).
  c.batch.PutMeta("base", base_ ? base_->id.view() : ByteView{});
  return CommitLocked(c);
}

void HeadTree::SyncLoop() {
  std::unique_lock<std::mutex> lock(s_->sync_mu);
  while (!s_->stop) {
    s_->sync_cv.wait_for(lock, std::chrono::nanoseconds(opts_.sync_interval_ns));
    if (s_->stop) break;
    lock.unlock();
    HashIdleFiles();
    Status st = SyncAll();
    if (!st.ok()) log_.Warn("head/: sync: {}", st.message());
    lock.lock();
  }
}

// The hash of staged data of files idle for a sync interval (doc/format.md,
// "Head journal", rule 4): with it, recovery after a power cut tells a
// complete file from one whose bytes were lost.
void HeadTree::HashIdleFiles() {
  struct Job {
    uint64_t ino, gen;
    std::vector<ByteRange> ranges;
  };
  std::vector<Job> jobs;
  const int64_t idle_since = NowNs() - opts_.sync_interval_ns;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    for (const auto& [ino, n] : s_->nodes) {
      if (n.dirty && !n.hash_valid && !n.staged.empty() && n.last_write_ns <= idle_since) {
        jobs.push_back(Job{ino, n.write_gen, n.staged});
      }
    }
  }
  for (const auto& j : jobs) {
    auto h = s_->staging->Hash(j.ino, j.ranges);
    if (!h) continue;  // changed or removed meanwhile: the next round sees it
    std::lock_guard<std::mutex> lock(s_->mu);
    HeadNode* n = FindLocked(j.ino);
    if (!n || n->write_gen != j.gen || !n->dirty) continue;
    n->hash_valid = true;
    n->staged_hash = *h;
    Change c;
    c.put.insert(j.ino);
    if (Status st = CommitLocked(c); !st.ok()) log_.Warn("head/: {}", st.message());
  }
}

Status HeadTree::SyncAll() {
  std::set<uint64_t> inos;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    inos.swap(s_->unsynced);
  }
  // Data before metadata (ext4's data=ordered): the journal never points at
  // staged bytes that a power cut could take back.
  for (uint64_t ino : inos) {
    Status st = s_->staging->DataSync(ino);
    if (!st.ok() && !st.Is(ErrorCode::kNotFound)) return st;
  }
  return s_->journal->Sync();
}

// --- helpers ---

HeadNode* HeadTree::FindLocked(uint64_t ino) {
  auto it = s_->nodes.find(ino);
  if (it == s_->nodes.end()) return nullptr;
  FreshLocked(it->second);
  return &it->second;
}

Result<HeadNode*> HeadTree::DirLocked(uint64_t ino) {
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  if (!n->is_dir()) return Err(Status::NotADirectory(PathLocked(ino) + " is not a directory"));
  return n;
}

// After a seal the nodes in memory describe the new base; their metadata
// is read from it on first use (RebaseLocked has the rest).
void HeadTree::FreshLocked(HeadNode& n) {
  if (n.base_gen == s_->base_gen) return;
  n.base_gen = s_->base_gen;
  if (n.unlinked) return;
  if (n.ino == kRootIno) {
    n.meta.subtree = s_->base_root;
    return;
  }
  if (n.links.empty()) return;
  HeadNode* p = FindLocked(n.links.front().first);
  if (!p) return;
  auto base = BaseOfLocked(*p);
  const Node* b = base ? BaseDirs::Find(**base, n.links.front().second) : nullptr;
  if (!b) {
    log_.Warn("head/{}: not found in the sealed snapshot; kept as it was", PathLocked(n.ino));
    return;
  }
  const uint32_t nlink = n.meta.nlink;
  n.meta = *b;
  n.meta.name.clear();
  if (n.is_dir()) n.meta.nlink = nlink;
  n.base_identity = true;
  n.base_len = n.meta.size;
  n.content_changed = false;
  n.hash_valid = false;
  n.packed.reset();
  if (!n.staged.empty()) {  // stored in the sealed snapshot now
    s_->staged_total -= std::min(s_->staged_total, n.StagedBytes());
    n.staged.clear();
    (void)s_->staging->Remove(n.ino);
    s_->unsynced.erase(n.ino);
  }
  if (!n.is_dir() && n.meta.nlink > 1) s_->base_ids[{n.meta.device, n.meta.inode}] = n.ino;
}

Result<BaseDirs::Nodes> HeadTree::BaseOfLocked(const HeadNode& dir) {
  if (dir.meta.subtree.IsZero()) return BaseDirs::Nodes{};
  return s_->base_dirs.Get(dir.meta.subtree);
}

uint64_t HeadTree::BindBaseLocked(uint64_t parent, std::string_view name, const Node& base) {
  State& s = *s_;
  const bool group = base.type != NodeType::kDir && base.nlink > 1;
  if (group) {
    if (auto it = s.base_ids.find({base.device, base.inode}); it != s.base_ids.end()) {
      if (HeadNode* n = FindLocked(it->second)) {
        auto link = std::make_pair(parent, std::string(name));
        if (std::find(n->links.begin(), n->links.end(), link) == n->links.end()) {
          n->links.push_back(link);
        }
        if (!n->dirty) s.bound[link] = n->ino;
        return n->ino;
      }
    }
  }
  HeadNode n;
  n.ino = InoOfKind(TreeKind::kHead, s.next_ino++);
  n.meta = base;
  n.meta.name.clear();
  n.base_identity = true;
  n.base_len = base.size;
  n.base_gen = s.base_gen;
  n.links.emplace_back(parent, std::string(name));
  const uint64_t ino = n.ino;
  s.bound[{parent, std::string(name)}] = ino;
  if (group) s.base_ids[{base.device, base.inode}] = ino;
  s.nodes.emplace(ino, std::move(n));
  return ino;
}

Result<uint64_t> HeadTree::ChildLocked(HeadNode& dir, std::string_view name) {
  if (auto it = dir.delta.find(name); it != dir.delta.end()) return it->second;
  if (auto it = s_->bound.find(std::make_pair(dir.ino, std::string(name))); it != s_->bound.end()) {
    return it->second;
  }
  CAIRN_ASSIGN_OR_RETURN(BaseDirs::Nodes base, BaseOfLocked(dir));
  if (!base) return uint64_t{0};
  const Node* b = BaseDirs::Find(*base, name);
  if (!b) return uint64_t{0};
  const uint64_t dir_ino = dir.ino;  // BindBaseLocked may rehash nodes
  return BindBaseLocked(dir_ino, name, *b);
}

Result<std::vector<std::pair<std::string, uint64_t>>> HeadTree::ListLocked(HeadNode& dir,
                                                                          bool bind) {
  CAIRN_ASSIGN_OR_RETURN(BaseDirs::Nodes base, BaseOfLocked(dir));
  std::vector<std::pair<std::string, uint64_t>> out;
  // Merge the base's sorted names with the sorted delta.
  const uint64_t dir_ino = dir.ino;
  const auto& delta = dir.delta;  // node references survive rehashing
  auto d = delta.begin();
  size_t b = 0;
  const size_t nb = base ? base->size() : 0;
  while (d != delta.end() || b < nb) {
    if (b < nb && (d == delta.end() || (*base)[b].name < d->first)) {
      const Node& node = (*base)[b++];
      uint64_t ino = 0;
      if (auto it = s_->bound.find(std::make_pair(dir_ino, node.name)); it != s_->bound.end()) {
        ino = it->second;
      } else if (bind) {
        ino = BindBaseLocked(dir_ino, node.name, node);
      }
      out.emplace_back(node.name, ino);
      continue;
    }
    if (b < nb && (*base)[b].name == d->first) ++b;  // the delta overrides it
    if (d->second != 0) out.emplace_back(d->first, d->second);
    ++d;
  }
  return out;
}

FsAttr HeadTree::AttrOf(const HeadNode& n) const {
  FsAttr a;
  a.ino = n.ino;
  a.mode = stored_entry::TypeBits(n.meta.type) | (n.meta.mode & 07777);
  a.nlink = n.meta.nlink;
  a.uid = n.meta.uid;
  a.gid = n.meta.gid;
  a.size = n.meta.size;
  a.blocks = (n.meta.size + 511) / 512;
  a.rdev = n.meta.rdev;
  a.atime_ns = n.meta.atime_ns;
  a.mtime_ns = n.meta.mtime_ns;
  a.ctime_ns = n.meta.ctime_ns;
  return a;
}

std::string HeadTree::PathLocked(uint64_t ino) {
  std::string path;
  for (int depth = 0; ino != kRootIno && depth < 4096; ++depth) {
    auto it = s_->nodes.find(ino);
    if (it == s_->nodes.end() || it->second.links.empty()) return "/<unlinked>" + path;
    path = "/" + it->second.links.front().second + path;
    ino = it->second.links.front().first;
  }
  return path.empty() ? "/" : path;
}

// --- reading ---

Result<FsAttr> HeadTree::Lookup(uint64_t parent, std::string_view name) {
  std::lock_guard<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(parent));
  CAIRN_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(*dir, name));
  HeadNode* n = ino ? FindLocked(ino) : nullptr;
  if (!n) return Err(Status::NotFound("head" + PathLocked(parent) + "/" + std::string(name)));
  ++n->nlookup;
  return AttrOf(*n);
}

Result<FsAttr> HeadTree::GetAttr(uint64_t ino) {
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  return AttrOf(*n);
}

Status HeadTree::ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) {
  std::unique_lock<std::mutex> lock(s_->mu);
  CAIRN_ASSIGN_OR_RETURN(HeadNode * dir, DirLocked(ino));
  const uint64_t parent = dir->links.empty() ? ino : dir->links.front().first;
  if (offset < 2 && !ListDots(ino, parent, offset, fn)) return Status::OK();
  // The listing is taken at the first call and later calls resume in it,
  // so entries added or removed meanwhile neither shift nor repeat others.
  std::shared_ptr<HeadListing> listing;
  auto& kept = s_->listings;
  for (auto it = kept.begin(); it != kept.end(); ++it) {
    if (it->first == ino) {
      listing = it->second;
      kept.erase(it);
      break;
    }
  }
  if (!listing || offset <= 2) {
    CAIRN_ASSIGN_OR_RETURN(auto entries, ListLocked(*dir, true));
    listing = std::make_shared<HeadListing>();
    listing->entries = std::move(entries);
  }
  kept.emplace_front(ino, listing);
  if (kept.size() > kListingsKept) kept.pop_back();
  for (uint64_t i = std::max<uint64_t>(offset, 2) - 2; i < listing->entries.size(); ++i) {
    const auto& [name, child] = listing->entries[i];
    HeadNode* n = FindLocked(child);
    if (!n) continue;  // removed since the listing was taken
    FsDirEntry e;
    e.name = name;
    e.attr = AttrOf(*n);
    e.next_offset = i + 3;
    if (!fn(e)) break;
    // READDIRPLUS hands the kernel a reference to each entry it takes
    // (the head/ session always lists with attributes).
    ++n->nlookup;
  }
  return Status::OK();
}

void HeadTree::Forget(uint64_t ino, uint64_t nlookup) {
  std::lock_guard<std::mutex> lock(s_->mu);
  auto it = s_->nodes.find(ino);
  if (it == s_->nodes.end()) return;
  HeadNode& n = it->second;
  n.nlookup -= std::min(n.nlookup, nlookup);
  if (n.nlookup == 0 && n.opens == 0 && ino != kRootIno && (n.unlinked || !n.dirty)) {
    DropLocked(ino);
  }
}

void HeadTree::DropLocked(uint64_t ino) {
  auto it = s_->nodes.find(ino);
  if (it == s_->nodes.end()) return;
  HeadNode& n = it->second;
  if (!n.staged.empty()) {
    s_->staged_total -= std::min(s_->staged_total, n.StagedBytes());
    (void)s_->staging->Remove(ino);
  }
  for (const auto& link : n.links) {
    auto b = s_->bound.find(link);
    if (b != s_->bound.end() && b->second == ino) s_->bound.erase(b);
  }
  if (n.base_identity) {
    auto b = s_->base_ids.find({n.meta.device, n.meta.inode});
    if (b != s_->base_ids.end() && b->second == ino) s_->base_ids.erase(b);
  }
  s_->unsynced.erase(ino);
  s_->nodes.erase(it);
}

std::optional<std::pair<std::string, uint64_t>> HeadTree::NameOf(uint64_t ino) {
  std::lock_guard<std::mutex> lock(s_->mu);
  auto it = s_->nodes.find(ino);
  if (it == s_->nodes.end() || it->second.links.empty()) return std::nullopt;
  const auto& [parent, name] = it->second.links.front();
  return std::make_pair(name, parent);
}

Result<std::unique_ptr<OpenFile>> HeadTree::Open(uint64_t ino, int flags) {
  std::lock_guard<std::mutex> lock(s_->mu);
  HeadNode* n = FindLocked(ino);
  if (!n) return Err(Status::NotFound("head/: inode " + std::to_string(ino) + " is gone"));
  if (n->is_dir()) return Err(Status::IsADirectory(PathLocked(ino) + " is a directory"));
  auto f = std::make_unique<File>();
  f->ino = ino;
  f->flags = flags;
  f->writer = (flags & O_ACCMODE) != O_RDONLY;
  ++n->opens;
  if (f->writer) ++n->writers;
  return std::unique_ptr<OpenFile>(std::move(f));
}

}  // namespace cairn
