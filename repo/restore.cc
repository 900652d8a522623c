#include "repo/restore.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/errno_status.h"
#include "common/local_files.h"
#include "common/object_pool.h"
#include "common/thread_pool.h"
#include "repo/local_fs.h"
#include "repo/pack.h"
#include "repo/pack_reads.h"

namespace cairn {
namespace {

constexpr uint8_t kZeros[64 * 1024] = {};

struct Item {
  std::string path;  // in the snapshot, "/usr/share/doc"
  Node node;
  long parent = -1;
  bool selected = false;
  bool kept = false;
  long link_to = -1;  // hardlink: item whose file this one links to
};

// restic-style include: a pattern without '/' matches a name, one with '/'
// the whole path; an item is included when it or an ancestor matches.
bool Matches(const std::vector<std::string>& patterns, const std::string& path,
             const std::string& name) {
  for (const auto& p : patterns) {
    if (p.find('/') == std::string::npos ? fnmatch(p.c_str(), name.c_str(), 0) == 0
                                         : fnmatch(p.c_str(), path.c_str(), FNM_PATHNAME) == 0)
      return true;
  }
  return false;
}

// A ranged read of one pack and the blobs it covers.
using ReadPlan = PackRange;

class RestoreRun {
 public:
  RestoreRun(Repository& repo, const Snapshot& snap, const RestoreOptions& opts,
             RestoreProgress* progress, RestoreObserver* observer,
             const std::atomic<bool>* cancel)
      : repo_(repo),
        snap_(snap),
        opts_(opts),
        progress_(progress ? progress : &own_progress_),
        observer_(observer),
        cancel_(cancel),
        files_(opts.files ? *opts.files : LocalFiles::Posix()),
        codecs_([&repo] { return repo.NewCodec(); }),
        hashers_([] { return std::make_unique<Sha256Stream>(); }) {}

  Result<RestoreStats> Run();

 private:
  Status Collect(const Id& tree, std::string path, long parent, bool included,
                 BlobCodec& codec);
  std::string Target(const Item& it) const { return opts_.target + it.path; }
  bool Stopped() const {
    return fatal_flag_.load(std::memory_order_relaxed) ||
           (cancel_ && cancel_->load(std::memory_order_relaxed));
  }
  void Fatal(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fatal_.ok()) fatal_ = s;
    fatal_flag_.store(true);
  }
  // corrupt: the failure came from the repository (damaged or missing
  // data), not from the local file system.
  void ItemFailed(const Item& it, const Status& s, bool corrupt = false) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.failed;
    stats_.corruption |= corrupt;
    if (observer_) observer_->Failed(Target(it), s);
  }
  // Classifies a local write error: a full disk stops everything.
  void WriteFailed(const Item& it, const Status& s) {
    if (s.Is(ErrorCode::kNoSpace)) {
      Fatal(Status::NoSpace("restore target " + opts_.target + " is full (writing " + Target(it) +
                            "); free space or restore fewer files with --include"));
      return;
    }
    ItemFailed(it, s);
  }
  Result<Bytes> Fetch(const ReadPlan& r);
  void RestoreBatch(const std::vector<size_t>& files, const ReadPlan& read);
  void RestoreLarge(size_t index);
  // Writes a file from plaintext pieces delivered in order by produce.
  using PieceFn = std::function<Status(size_t extent, Bytes& plain)>;
  void WriteFile(Item& it, const PieceFn& produce);
  Status CreateSpecial(const Item& it);

  Repository& repo_;
  const Snapshot& snap_;
  const RestoreOptions& opts_;
  RestoreProgress own_progress_;
  RestoreProgress* progress_;
  RestoreObserver* observer_;
  const std::atomic<bool>* cancel_;
  LocalFiles& files_;  // restored files and directories are created through it
  ObjectPool<BlobCodec> codecs_;
  ObjectPool<Sha256Stream> hashers_;
  IdNameCache names_;
  ExcludeMatcher excluder_{opts_.excludes};
  bool chown_ = false;

  std::vector<Item> items_;
  std::mutex mu_;
  Status fatal_;         // GUARDED_BY(mu_)
  RestoreStats stats_;   // GUARDED_BY(mu_) for failed/corruption
  std::atomic<bool> fatal_flag_{false};
};

Status RestoreRun::Collect(const Id& tree, std::string path, long parent, bool included,
                           BlobCodec& codec) {
  return ForEachNode(tree, repo_.TreeLoader(codec), [&](Node&& n) -> Status {
    std::string p = path == "/" ? "/" + n.name : path + "/" + n.name;
    if (excluder_.Excluded(p, n.name)) {
      return Status::OK();
    }
    bool inc = included || opts_.includes.empty() || Matches(opts_.includes, p, n.name);
    long index = static_cast<long>(items_.size());
    Id subtree = n.subtree;
    bool dir = n.type == NodeType::kDir;
    items_.push_back(Item{std::move(p), std::move(n), parent, inc, false, -1});
    if (dir) return Collect(subtree, items_[static_cast<size_t>(index)].path, index, inc, codec);
    return Status::OK();
  });
}

Result<Bytes> RestoreRun::Fetch(const ReadPlan& r) {
  auto bytes = repo_.store().Get(PackKey(r.pack), r.offset, r.length);
  if (!bytes) return Err(PackReadError(bytes.error(), r.pack, BlobType::kData, nullptr));
  return bytes;
}

void RestoreRun::WriteFile(Item& it, const PieceFn& produce) {
  const Node& n = it.node;
  // kCreateNew (O_EXCL): an existing file is replaced, never written
  // through (it may be a hardlink to a file outside the target, or a symlink).
  auto opened = files_.Open(Target(it), OpenMode::kCreateNew);
  if (!opened && opened.error().Is(ErrorCode::kAlreadyExists)) {
    std::error_code ec;
    std::filesystem::remove_all(Target(it), ec);
    opened = files_.Open(Target(it), OpenMode::kCreateNew);
  }
  if (!opened) return WriteFailed(it, opened.error());
  LocalFile& file = *opened;
  const std::string& path = file.path();
  auto sha = hashers_.Acquire();
  (void)sha->Finish();
  uint64_t off = 0;
  Bytes plain;
  Status s;
  bool corrupt = false;  // s came from the repository, not the local disk
  for (size_t e = 0; e < n.content.size() && s.ok(); ++e) {
    const Extent& x = n.content[e];
    if (x.hole) {
      for (uint64_t left = x.length; left > 0;) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(left, sizeof(kZeros)));
        sha->Update(ByteView(kZeros, k));
        left -= k;
      }
      off += x.length;
      continue;
    }
    plain.clear();
    s = produce(e, plain);
    if (s.ok() && plain.size() != x.length) {
      s = Status::Corruption("blob " + x.blob.Short() + " has the wrong length");
    }
    if (!s.ok()) {
      corrupt = s.Is(ErrorCode::kCorruption) || s.Is(ErrorCode::kNotFound);
      break;
    }
    sha->Update(plain);
    s = file.PWrite(plain, off);
    off += x.length;
  }
  if (s.ok()) s = file.Truncate(n.size);
  if (s.ok() && sha->Finish() != n.sha256) {
    corrupt = true;
    s = Status::Corruption("SHA-256 of the restored content differs from the snapshot's; run "
                           "`cairn check --read-data`");
  }
  if (!s.ok()) {
    // No partial or unverified file is left to pass for the real one.
    (void)file.Close();
    (void)files_.Unlink(path);
    return corrupt ? ItemFailed(it, s, true) : WriteFailed(it, s);
  }
  // The content is verified; a metadata failure is reported, the file kept.
  Status meta = ApplyMetadata(file.fd(), path, n, chown_, names_);
  (void)file.Close();
  if (!meta.ok()) ItemFailed(it, meta);
  progress_->files_done.fetch_add(1, std::memory_order_relaxed);
  progress_->bytes_done.fetch_add(n.size, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.files;
  stats_.bytes += n.size;
}

void RestoreRun::RestoreBatch(const std::vector<size_t>& files, const ReadPlan& read) {
  if (Stopped()) return;
  auto bytes = Fetch(read);
  auto codec = codecs_.Acquire();
  for (size_t i : files) {
    Item& it = items_[i];
    WriteFile(it, [&](size_t e, Bytes& plain) -> Status {
      if (!bytes) return bytes.error();
      const Extent& x = it.node.content[e];
      auto loc = repo_.FindBlob(x.blob);
      if (!loc) return Status::NotFound("data blob " + x.blob.Short() + " is not in the index");
      // A store returns what exists of a range: a truncated pack gives
      // fewer bytes, and blobs past its end must not be read.
      const uint64_t at = loc->offset - read.offset;
      if (at + loc->length > bytes->size()) {
        return Status::Corruption("data blob " + x.blob.Short() + ": pack " + loc->pack.Short() +
                                  " is truncated; run `cairn check`");
      }
      ByteView stored(bytes->data() + at, loc->length);
      return repo_.DecodeBlob(BlobType::kData, x.blob, *loc, stored, *codec, plain);
    });
    if (Stopped()) return;
  }
}

void RestoreRun::RestoreLarge(size_t index) {
  if (Stopped()) return;
  Item& it = items_[index];
  auto codec = codecs_.Acquire();
  // Coalesce runs of extents that lie close together in one pack.
  Bytes window;
  ReadPlan window_plan;
  WriteFile(it, [&](size_t e, Bytes& plain) -> Status {
    const Extent& x = it.node.content[e];
    auto loc = repo_.FindBlob(x.blob);
    if (!loc) return Status::NotFound("data blob " + x.blob.Short() + " is not in the index");
    bool inside = !window.empty() && window_plan.pack == loc->pack &&
                  loc->offset >= window_plan.offset &&
                  loc->offset + loc->length <= window_plan.offset + window.size();
    if (!inside) {
      PackRangeBuilder plan(*loc, CoalescePolicy{});
      for (size_t f = e + 1; f < it.node.content.size(); ++f) {
        const Extent& y = it.node.content[f];
        if (y.hole) continue;
        auto l = repo_.FindBlob(y.blob);
        if (!l || !plan.TryAdd(*l)) break;
      }
      CAIRN_ASSIGN_OR_RETURN(window, Fetch(plan.range()));
      window_plan = plan.range();
    }
    ByteView stored(window.data() + (loc->offset - window_plan.offset),
                    std::min<size_t>(loc->length, window.size() - (loc->offset - window_plan.offset)));
    return repo_.DecodeBlob(BlobType::kData, x.blob, *loc, stored, *codec, plain);
  });
}

Status RestoreRun::CreateSpecial(const Item& it) {
  const Node& n = it.node;
  const std::string path = Target(it);
  int rc = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    switch (n.type) {
      case NodeType::kSymlink: rc = ::symlink(n.symlink_target.c_str(), path.c_str()); break;
      case NodeType::kFifo: rc = ::mkfifo(path.c_str(), 0600); break;
      case NodeType::kSocket: rc = ::mknod(path.c_str(), S_IFSOCK | 0600, 0); break;
      case NodeType::kCharDev:
        rc = ::mknod(path.c_str(), S_IFCHR | 0600, static_cast<dev_t>(n.rdev));
        break;
      case NodeType::kBlockDev:
        rc = ::mknod(path.c_str(), S_IFBLK | 0600, static_cast<dev_t>(n.rdev));
        break;
      default: return Status::OK();
    }
    if (rc == 0 || errno != EEXIST) break;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  if (rc != 0) return StatusFromErrno(errno, "creating " + path);
  return ApplyMetadata(-1, path, n, chown_, names_);
}

Result<RestoreStats> RestoreRun::Run() {
  if (opts_.target.empty()) return Err(Status::InvalidArgument("restore needs --target DIR"));
  chown_ = opts_.set_ownership && ::geteuid() == 0;
  CAIRN_RETURN_IF_ERROR(repo_.SyncIndex());
  {
    auto codec = repo_.NewCodec();
    CAIRN_RETURN_IF_ERROR(Collect(snap_.tree, "/", -1, false, *codec));
  }
  // Keep selected items and every directory above one.
  for (size_t i = items_.size(); i-- > 0;) {
    Item& it = items_[i];
    if (it.selected) it.kept = true;
    if (it.kept && it.parent >= 0) items_[static_cast<size_t>(it.parent)].kept = true;
  }
  std::error_code ec;
  std::filesystem::create_directories(opts_.target, ec);
  if (ec) {
    return Err(Status::IOError("cannot create restore target " + opts_.target + ": " +
                               ec.message()));
  }

  // Directories first (parents before children), then hardlink groups.
  std::map<std::pair<uint64_t, uint64_t>, long> link_first;
  std::vector<size_t> files;
  for (size_t i = 0; i < items_.size(); ++i) {
    Item& it = items_[i];
    if (!it.kept) continue;
    if (it.node.type == NodeType::kDir) {
      const std::string path = Target(it);
      if (Status s = files_.CreateDir(path, 0700); !s.ok()) {
        if (s.Is(ErrorCode::kNoSpace)) return Err(s);
        ItemFailed(it, s);
      }
      ++stats_.dirs;
      continue;
    }
    if (it.node.type != NodeType::kFile) continue;
    if (it.node.nlink > 1) {
      auto [pos, first] = link_first.try_emplace({it.node.device, it.node.inode}, long(i));
      if (!first) {
        it.link_to = pos->second;
        continue;
      }
    }
    files.push_back(i);
    progress_->files_total.fetch_add(1, std::memory_order_relaxed);
    progress_->bytes_total.fetch_add(it.node.size, std::memory_order_relaxed);
  }

  // Order files by where their first blob lies, then cut the order into
  // reads: runs of single-blob files close together in one pack share one
  // ranged read; other files read their own extents.
  struct Keyed {
    BlobLocation loc;
    size_t index;
    bool single;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(files.size());
  for (size_t i : files) {
    const Node& n = items_[i].node;
    BlobLocation loc;
    size_t data_extents = 0;
    for (const Extent& x : n.content) {
      if (x.hole) continue;
      if (data_extents++ == 0) {
        if (auto l = repo_.FindBlob(x.blob)) loc = *l;
      }
    }
    keyed.push_back({loc, i, data_extents == 1 && loc.length > 0});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.loc.pack != b.loc.pack ? a.loc.pack < b.loc.pack : a.loc.offset < b.loc.offset;
  });
  const size_t threads = opts_.threads ? opts_.threads : std::max<size_t>(4, 2 * DefaultThreads());
  {
    ThreadPool pool(threads, 2 * threads);
    for (size_t k = 0; k < keyed.size() && !Stopped();) {
      if (!keyed[k].single) {
        size_t index = keyed[k].index;
        pool.Submit([this, index] { RestoreLarge(index); });
        ++k;
        continue;
      }
      // Identical small files are stored as one blob: they join the read.
      PackRangeBuilder plan(keyed[k].loc, CoalescePolicy{.join_repeats = true});
      std::vector<size_t> batch{keyed[k].index};
      size_t j = k + 1;
      for (; j < keyed.size() && keyed[j].single && plan.TryAdd(keyed[j].loc); ++j) {
        batch.push_back(keyed[j].index);
      }
      k = j;
      pool.Submit(
          [this, batch = std::move(batch), read = plan.range()] { RestoreBatch(batch, read); });
    }
    pool.Wait();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fatal_.ok()) return Err(fatal_);
  }
  if (cancel_ && cancel_->load()) return Err(Status::Cancelled("restore interrupted"));

  // Hardlinks, special files, then directory metadata deepest first.
  for (size_t i = 0; i < items_.size(); ++i) {
    Item& it = items_[i];
    if (!it.kept) continue;
    if (it.link_to >= 0) {
      const std::string path = Target(it);
      const std::string first = Target(items_[static_cast<size_t>(it.link_to)]);
      ::unlink(path.c_str());
      if (::link(first.c_str(), path.c_str()) != 0) {
        ItemFailed(it, StatusFromErrno(errno, "linking " + path + " to " + first));
      }
      continue;
    }
    if (it.node.type != NodeType::kFile && it.node.type != NodeType::kDir) {
      ++stats_.others;
      Status s = CreateSpecial(it);
      if (!s.ok()) {
        if (s.Is(ErrorCode::kNoSpace)) return Err(s);
        ItemFailed(it, s);
      }
    }
  }
  for (size_t i = items_.size(); i-- > 0;) {
    Item& it = items_[i];
    if (!it.kept || it.node.type != NodeType::kDir) continue;
    Status s = ApplyMetadata(-1, Target(it), it.node, chown_, names_);
    if (!s.ok()) ItemFailed(it, s);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace

Result<RestoreStats> RunRestore(Repository& repo, const Snapshot& snap, const RestoreOptions& opts,
                                RestoreProgress* progress, RestoreObserver* observer,
                                const std::atomic<bool>* cancel) {
  RestoreRun run(repo, snap, opts, progress, observer, cancel);
  return run.Run();
}

}  // namespace cairn
