#include "repo/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/errno_status.h"
#include "common/thread_pool.h"
#include "common/version.h"
#include "repo/blob_saver.h"
#include "repo/file_reader.h"
#include "repo/local_fs.h"

namespace cairn {

std::string DefaultSeries(const std::string& hostname, const std::vector<std::string>& paths) {
  std::vector<std::string> sorted = paths;  // `backup /a /b` and `/b /a` are one series
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string s = hostname + ":";
  for (size_t i = 0; i < sorted.size(); ++i) s += (i ? "," : "") + sorted[i];
  return s;
}

namespace {

std::string ThisHost() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// The directories above the backed-up paths ("virtual" directories: only
// the named children are backed up).
struct VirtualDir {
  std::map<std::string, VirtualDir> children;
  bool target = false;  // the path itself was named: back up all below it
};

// A directory being backed up. pending counts children still in flight
// plus one while the walker is listing it; whoever drops it to zero writes
// the tree and releases the parent.
struct DirState {
  DirState* parent = nullptr;
  size_t slot = 0;  // index of this directory's node in parent->nodes
  std::string path;
  std::vector<Node> nodes;  // each slot written by one thread before its release
  std::vector<char> skip;
  std::atomic<int> pending{1};
};

class BackupRun {
 public:
  BackupRun(Repository& repo, const BackupOptions& opts, BackupProgress* progress,
            BackupObserver* observer, const std::atomic<bool>* cancel)
      : repo_(repo),
        opts_(opts),
        progress_(progress ? progress : &own_progress_),
        observer_(observer),
        cancel_(cancel),
        matcher_(opts.excludes) {}

  Result<BackupResult> Run();

 private:
  bool Cancelled() const {
    return failed_.load(std::memory_order_relaxed) ||
           (cancel_ && cancel_->load(std::memory_order_relaxed));
  }
  void Fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fatal_.ok()) fatal_ = s;
    failed_.store(true);
  }
  void Skip(DirState* d, size_t slot, const std::string& path, const Status& why) {
    d->skip[slot] = 1;
    if (why.Is(ErrorCode::kCancelled)) return;
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (observer_) observer_->Skipped(path, why);
  }

  void WalkDir(DirState* d, const VirtualDir* virt, const std::vector<Node>* parent_nodes,
               dev_t root_dev);
  void VisitEntry(DirState* d, size_t slot, const std::string& name, bool is_virtual,
                  const VirtualDir* virt, const Node* prev, dev_t root_dev);
  void ReadFileJob(DirState* d, size_t slot, std::string path, bool changed);
  // Counts node in the snapshot's acl_entries when it carries a POSIX ACL.
  void CountAcl(const Node& node) {
    if (std::any_of(node.xattrs.begin(), node.xattrs.end(), [](const Xattr& x) {
          return x.name.starts_with("system.posix_acl_");
        })) {
      acl_entries_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void ReadStdinJob(DirState* d, size_t slot);
  void Release(DirState* d);
  void FinishDir(DirState* d);
  std::vector<Node> LoadParentTree(const Id& subtree, BlobCodec& codec);
  void Scan(const std::string& path, dev_t root_dev);

  Repository& repo_;
  const BackupOptions& opts_;
  BackupProgress own_progress_;
  BackupProgress* progress_;
  BackupObserver* observer_;
  const std::atomic<bool>* cancel_;
  ExcludeMatcher matcher_;
  IdNameCache names_;

  std::unique_ptr<BlobSaver> saver_;
  std::unique_ptr<ThreadPool> encoders_;
  std::unique_ptr<ThreadPool> readers_;
  std::unique_ptr<ThreadPool> walkers_;  // unbounded queue: walk tasks submit walk tasks
  std::unique_ptr<FileReader> file_reader_;

  std::mutex mu_;
  std::condition_variable root_done_cv_;
  bool root_done_ = false;  // GUARDED_BY(mu_)
  Id root_id_;              // GUARDED_BY(mu_)
  Status fatal_;            // GUARDED_BY(mu_)
  std::atomic<bool> failed_{false};

  std::atomic<uint64_t> acl_entries_{0};  // entries with a POSIX ACL
  std::atomic<uint64_t> files_{0}, dirs_{0}, others_{0}, bytes_{0}, new_{0}, changed_{0},
      unmodified_{0}, bytes_read_{0}, errors_{0};
};

std::vector<Node> BackupRun::LoadParentTree(const Id& subtree, BlobCodec& codec) {
  auto nodes = ReadTree(subtree, repo_.TreeLoader(codec));
  if (!nodes) {
    // Not fatal: without the parent's tree every file is read again.
    repo_.logger().Warn("parent tree {} unreadable ({}); reading files again", subtree.Short(),
                        nodes.error().message());
    return {};
  }
  return std::move(*nodes);
}

static const Node* FindNode(const std::vector<Node>* nodes, const std::string& name) {
  if (!nodes) return nullptr;
  auto it = std::lower_bound(nodes->begin(), nodes->end(), name,
                             [](const Node& n, const std::string& k) { return n.name < k; });
  return it != nodes->end() && it->name == name ? &*it : nullptr;
}

void BackupRun::WalkDir(DirState* d, const VirtualDir* virt,
                        const std::vector<Node>* parent_nodes, dev_t root_dev) {
  std::vector<std::string> names;
  if (virt) {
    for (const auto& [name, child] : virt->children) names.push_back(name);
  } else {
    auto listed = ReadDirNames(d->path);
    if (!listed) {
      // The directory itself is kept (with its metadata), its entries are not.
      errors_.fetch_add(1, std::memory_order_relaxed);
      if (observer_) observer_->Skipped(d->path, listed.error());
      return;
    }
    names = std::move(*listed);
  }
  d->nodes.resize(names.size());
  d->skip.assign(names.size(), 0);
  for (size_t i = 0; i < names.size(); ++i) {
    if (Cancelled()) {
      for (size_t j = i; j < names.size(); ++j) d->skip[j] = 1;
      return;
    }
    const VirtualDir* child_virt = nullptr;
    bool is_virtual = false;
    if (virt) {
      const VirtualDir& c = virt->children.at(names[i]);
      is_virtual = true;
      child_virt = c.target ? nullptr : &c;
    }
    VisitEntry(d, i, names[i], is_virtual, child_virt, FindNode(parent_nodes, names[i]),
               root_dev);
  }
}

void BackupRun::VisitEntry(DirState* d, size_t slot, const std::string& name, bool is_virtual,
                           const VirtualDir* virt, const Node* prev, dev_t root_dev) {
  const std::string path = JoinPath(d->path, name);
  Node& node = d->nodes[slot];
  node.name = name;
  if (!is_virtual && matcher_.Excluded(path, name)) {
    d->skip[slot] = 1;
    return;
  }
  struct stat st;
  // Ancestors of the named paths are followed (they only hold the path);
  // everything else is recorded as it is, symlinks included.
  int rc = virt ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return Skip(d, slot, path, StatusFromErrno(errno, path));
  auto type = TypeFromMode(st.st_mode);
  if (!type) return Skip(d, slot, path, Status::InvalidArgument(path + ": unknown file type"));
  if (is_virtual && !virt) root_dev = st.st_dev;  // a named path: --one-file-system root

  // An unchanged file: same identity and times, and its blobs still exist.
  if (*type == NodeType::kFile && prev && !opts_.force_read && prev->type == NodeType::kFile &&
      prev->size == static_cast<uint64_t>(st.st_size) && prev->inode == st.st_ino &&
      prev->mtime_ns == int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec &&
      prev->ctime_ns == int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec &&
      std::all_of(prev->content.begin(), prev->content.end(), [&](const Extent& e) {
        return e.hole || saver_->Known(e.blob);
      })) {
    node = *prev;  // ctime unchanged: mode, owner and xattrs are unchanged too
    node.name = name;
    CountAcl(node);
    node.atime_ns = int64_t{st.st_atim.tv_sec} * 1000000000 + st.st_atim.tv_nsec;
    node.nlink = static_cast<uint32_t>(st.st_nlink);
    files_.fetch_add(1, std::memory_order_relaxed);
    unmodified_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(node.size, std::memory_order_relaxed);
    progress_->files_done.fetch_add(1, std::memory_order_relaxed);
    progress_->bytes_done.fetch_add(node.size, std::memory_order_relaxed);
    return;
  }

  FillNodeFromStat(st, names_, node);
  node.name = name;
  auto xattrs = ReadXattrs(path);
  if (!xattrs) return Skip(d, slot, path, xattrs.error());
  node.xattrs = std::move(*xattrs);
  CountAcl(node);

  switch (*type) {
    case NodeType::kFile: {
      d->pending.fetch_add(1, std::memory_order_relaxed);
      bool changed = prev != nullptr;
      readers_->Submit([this, d, slot, path, changed] { ReadFileJob(d, slot, path, changed); });
      return;
    }
    case NodeType::kSymlink: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Skip(d, slot, path, StatusFromErrno(errno, "reading link " + path));
      target.resize(static_cast<size_t>(n));
      node.symlink_target = std::move(target);
      node.size = node.symlink_target.size();
      others_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    case NodeType::kDir: {
      dirs_.fetch_add(1, std::memory_order_relaxed);
      auto* child = new DirState;
      child->parent = d;
      child->slot = slot;
      child->path = path;
      d->pending.fetch_add(1, std::memory_order_relaxed);
      bool other_fs = opts_.one_file_system && !virt && st.st_dev != root_dev;
      if (other_fs) {
        Release(child);
        return;
      }
      // Directories are listed in parallel: on a cold cache every lstat may
      // wait for the disk, and one walker thread would leave it idle.
      const bool has_prev = prev != nullptr;
      const Id prev_tree = prev && prev->type == NodeType::kDir ? prev->subtree : Id();
      walkers_->Submit([this, child, virt, has_prev, prev_tree, root_dev] {
        std::vector<Node> parent_nodes;
        if (!prev_tree.IsZero() && !Cancelled()) {
          auto codec = saver_->codecs().Acquire();
          parent_nodes = LoadParentTree(prev_tree, *codec);
        }
        WalkDir(child, virt, has_prev ? &parent_nodes : nullptr, root_dev);
        Release(child);
      });
      return;
    }
    default:
      others_.fetch_add(1, std::memory_order_relaxed);
      return;
  }
}

void BackupRun::ReadFileJob(DirState* d, size_t slot, std::string path, bool changed) {
  Node& node = d->nodes[slot];
  auto done = [&] { Release(d); };
  if (Cancelled()) {
    d->skip[slot] = 1;
    return done();
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    Skip(d, slot, path, StatusFromErrno(errno, "opening " + path));
    return done();
  }
  struct stat before, after;
  if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode)) {
    ::close(fd);
    Skip(d, slot, path, Status::IOError(path + ": no longer a regular file"));
    return done();
  }
  if (before.st_ino != node.inode || static_cast<uint64_t>(before.st_size) != node.size) {
    FillNodeFromStat(before, names_, node);  // replaced or changed since lstat
  }
  bool sparse = before.st_size > 0 &&
                static_cast<uint64_t>(before.st_blocks) * 512 < static_cast<uint64_t>(before.st_size);
  auto content =
      file_reader_->Read(fd, sparse, static_cast<uint64_t>(before.st_size), path, cancel_);
  int fstat_rc = ::fstat(fd, &after);
  ::close(fd);
  if (!content) {
    Skip(d, slot, path, content.error());
    return done();
  }
  if (fstat_rc == 0 &&
      (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
       after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
       after.st_ctim.tv_nsec != before.st_ctim.tv_nsec ||
       content->size != static_cast<uint64_t>(before.st_size))) {
    // The snapshot keeps the bytes read (hash and size agree with them) and
    // the times from before the read, so the next backup reads it again.
    if (observer_) observer_->Warning(path, "file changed while being read; the snapshot holds "
                                            "the bytes read");
  }
  node.size = content->size;
  node.content = std::move(content->extents);
  node.sha256 = content->sha256;
  files_.fetch_add(1, std::memory_order_relaxed);
  (changed ? changed_ : new_).fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(node.size, std::memory_order_relaxed);
  bytes_read_.fetch_add(content->bytes_read, std::memory_order_relaxed);
  progress_->files_done.fetch_add(1, std::memory_order_relaxed);
  progress_->bytes_done.fetch_add(node.size, std::memory_order_relaxed);
  done();
}

void BackupRun::ReadStdinJob(DirState* d, size_t slot) {
  Node& node = d->nodes[slot];
  auto content = file_reader_->Read(opts_.stdin_fd, false, UINT64_MAX, "standard input", cancel_);
  if (!content) {
    Fail(content.error());
    d->skip[slot] = 1;
    return Release(d);
  }
  int64_t now = NowNs();
  node.type = NodeType::kFile;
  node.mode = 0644;
  node.uid = geteuid();
  node.gid = getegid();
  node.user = names_.UserName(node.uid);
  node.group = names_.GroupName(node.gid);
  node.mtime_ns = node.ctime_ns = node.atime_ns = now;
  node.size = content->size;
  node.content = std::move(content->extents);
  node.sha256 = content->sha256;
  files_.fetch_add(1);
  new_.fetch_add(1);
  bytes_.fetch_add(node.size);
  bytes_read_.fetch_add(content->bytes_read);
  Release(d);
}

void BackupRun::Release(DirState* d) {
  if (d->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) FinishDir(d);
}

void BackupRun::FinishDir(DirState* d) {
  std::vector<Node> kept;
  kept.reserve(d->nodes.size());
  for (size_t i = 0; i < d->nodes.size(); ++i) {
    if (!d->skip[i]) kept.push_back(std::move(d->nodes[i]));
  }
  Id id;
  if (!Cancelled()) {
    auto codec = saver_->codecs().Acquire();
    auto written = WriteTree(kept, [&](Bytes plain) -> Result<Id> {
      Id tid = repo_.crypto().BlobId(plain);
      CAIRN_RETURN_IF_ERROR(saver_->Save(BlobType::kTree, tid, plain, *codec));
      return tid;
    });
    if (written) {
      id = *written;
    } else {
      Fail(written.error().WithContext("writing the tree of " + d->path));
    }
  }
  DirState* parent = d->parent;
  if (!parent) {
    std::lock_guard<std::mutex> lock(mu_);
    root_id_ = id;
    root_done_ = true;
    root_done_cv_.notify_all();
  } else {
    parent->nodes[d->slot].subtree = id;
  }
  delete d;
  if (parent) Release(parent);
}

void BackupRun::Scan(const std::string& path, dev_t root_dev) {
  // Totals for the progress display only; errors are the walker's to report.
  std::vector<std::string> stack{path};
  while (!stack.empty() && !Cancelled()) {
    std::string dir = std::move(stack.back());
    stack.pop_back();
    auto names = ReadDirNames(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      std::string p = JoinPath(dir, n);
      if (matcher_.Excluded(p, n)) continue;
      struct stat st;
      if (::lstat(p.c_str(), &st) != 0) continue;
      if (S_ISREG(st.st_mode)) {
        progress_->files_total.fetch_add(1, std::memory_order_relaxed);
        progress_->bytes_total.fetch_add(static_cast<uint64_t>(st.st_size),
                                         std::memory_order_relaxed);
      } else if (S_ISDIR(st.st_mode) && !(opts_.one_file_system && st.st_dev != root_dev)) {
        stack.push_back(std::move(p));
      }
    }
  }
}

Result<BackupResult> BackupRun::Run() {
  const int64_t start = NowNs();
  const std::string host = opts_.hostname.empty() ? ThisHost() : opts_.hostname;
  std::vector<std::string> paths = opts_.paths;
  if (opts_.from_stdin) {
    if (opts_.stdin_name.empty() || opts_.stdin_name.find('/') != std::string::npos) {
      return Err(Status::InvalidArgument("--stdin-name must be a plain file name"));
    }
    paths = {"/" + opts_.stdin_name};
  }
  if (paths.empty()) return Err(Status::InvalidArgument("nothing to back up: give a path"));
  VirtualDir root;
  for (const auto& p : paths) {
    if (p.empty() || p[0] != '/') {
      return Err(Status::InvalidArgument("backup path " + p + " is not absolute"));
    }
    if (!opts_.from_stdin) {
      struct stat st;
      if (::lstat(p.c_str(), &st) != 0) return Err(StatusFromErrno(errno, "backup path " + p));
    }
    VirtualDir* v = &root;
    size_t pos = 1;
    while (pos <= p.size() && !v->target) {
      size_t slash = p.find('/', pos);
      if (slash == std::string::npos) slash = p.size();
      std::string comp = p.substr(pos, slash - pos);
      if (!comp.empty()) v = &v->children[comp];
      pos = slash + 1;
    }
    v->target = true;  // for "/" that is the root itself
    v->children.clear();
  }

  const std::string series = opts_.series.empty() ? DefaultSeries(host, paths) : opts_.series;
  CAIRN_RETURN_IF_ERROR(repo_.SyncIndex());
  std::optional<Snapshot> parent;
  if (opts_.parent) {
    CAIRN_ASSIGN_OR_RETURN(auto snaps, repo_.ListSnapshots());
    for (auto& s : snaps) {
      if (s.id == *opts_.parent) parent = s;
    }
    if (!parent) return Err(Status::NotFound("parent snapshot " + opts_.parent->Short()));
  } else {
    auto latest = repo_.FindSnapshot("latest", series);
    if (latest) {
      parent = *latest;
    } else if (!latest.error().Is(ErrorCode::kNotFound)) {
      return Err(latest.error());
    }
  }

  const size_t cores = opts_.threads ? opts_.threads : DefaultThreads();
  BlobSaverOptions saver_opts;
  if (opts_.upload_threads > 0) {
    saver_opts.upload_threads = opts_.upload_threads;
    // One more full pack may wait than upload: the packer never stalls
    // while an uploader finishes (memory: about (threads + 1) packs).
    saver_opts.max_queued_packs = std::max<size_t>(1, opts_.upload_threads / 2);
  }
  saver_ = std::make_unique<BlobSaver>(repo_, saver_opts);
  encoders_ = std::make_unique<ThreadPool>(cores, 2 * cores);
  // Readers also wait on the disk: more of them than cores keeps it busy.
  readers_ = std::make_unique<ThreadPool>(std::max<size_t>(4, 2 * cores), 64);
  file_reader_ = std::make_unique<FileReader>(repo_, *saver_, *encoders_);
  walkers_ = std::make_unique<ThreadPool>(8, SIZE_MAX);

  std::thread scanner;
  if (progress_->want_scan.load() && !opts_.from_stdin) {
    scanner = std::thread([&] {
      for (const auto& p : paths) {
        struct stat st;
        if (::lstat(p.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
          Scan(p, st.st_dev);
        } else if (S_ISREG(st.st_mode)) {
          progress_->files_total.fetch_add(1);
          progress_->bytes_total.fetch_add(static_cast<uint64_t>(st.st_size));
        }
      }
      progress_->scan_done.store(true);
    });
  }

  auto* top = new DirState;
  top->path = "/";
  if (opts_.from_stdin) {
    top->nodes.resize(1);
    top->skip.assign(1, 0);
    top->nodes[0].name = opts_.stdin_name;
    top->pending.fetch_add(1);
    readers_->Submit([this, top] { ReadStdinJob(top, 0); });
  } else {
    std::vector<Node> parent_root;
    if (parent) {
      auto codec = saver_->codecs().Acquire();
      parent_root = LoadParentTree(parent->tree, *codec);
    }
    dev_t root_dev = 0;
    struct stat st;
    if (root.target && ::lstat("/", &st) == 0) root_dev = st.st_dev;
    WalkDir(top, root.target ? nullptr : &root, parent ? &parent_root : nullptr, root_dev);
  }
  Release(top);
  {
    std::unique_lock<std::mutex> lock(mu_);
    root_done_cv_.wait(lock, [&] { return root_done_; });
  }
  walkers_->Wait();
  readers_->Wait();
  encoders_->Wait();
  if (scanner.joinable()) scanner.join();
  Status flushed = saver_->Flush();
  if (!flushed.ok()) Fail(flushed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fatal_.ok()) return Err(fatal_);
  }
  if (cancel_ && cancel_->load()) {
    return Err(Status::Cancelled(
        "backup interrupted: no snapshot was written; the data stored so far is indexed and "
        "the next backup reuses it"));
  }

  Snapshot snap;
  snap.time_ns = start;
  snap.hostname = host;
  snap.username = names_.UserName(geteuid());
  snap.series = series;
  snap.tags = opts_.tags;
  snap.paths = paths;
  if (parent) snap.parent = parent->id;
  snap.tree = root_id_;
  snap.program_version = kVersionString;
  SnapshotStats& st = snap.stats;
  BlobSaverStats ss = saver_->stats();
  st.files = files_;
  st.dirs = dirs_;
  st.others = others_;
  st.acl_entries = acl_entries_.load();
  st.bytes = bytes_;
  st.files_new = new_;
  st.files_changed = changed_;
  st.files_unmodified = unmodified_;
  st.data_blobs_added = ss.data_blobs;
  st.tree_blobs_added = ss.tree_blobs;
  st.bytes_read = bytes_read_;
  st.raw_bytes_added = ss.raw_bytes;
  st.stored_bytes_added = ss.stored_bytes;
  st.errors = errors_;
  st.duration_ns = NowNs() - start;
  auto codec = repo_.NewCodec();
  CAIRN_ASSIGN_OR_RETURN(snap.id, repo_.SaveSnapshot(snap, *codec));
  return BackupResult{std::move(snap), errors_.load()};
}

}  // namespace

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& opts,
                               BackupProgress* progress, BackupObserver* observer,
                               const std::atomic<bool>* cancel) {
  BackupRun run(repo, opts, progress, observer, cancel);
  return run.Run();
}

}  // namespace cairn
