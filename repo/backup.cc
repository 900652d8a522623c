#include "repo/backup.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/clock.h"
#include "common/version.h"
#include "repo/backup_run.h"
#include "repo/local_fs.h"
#include "repo/local_source.h"

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

}  // namespace

// The tree of directories above opts_.paths; each path must exist.
Result<BackupRun::VirtualDir> BackupRun::NamedPaths() {
  VirtualDir root;
  for (const auto& p : opts_.paths) {
    if (p.empty() || p[0] != '/') {
      return Err(Status::InvalidArgument("backup path " + p + " is not absolute"));
    }
    auto stat = source_.Stat(p, false);
    if (!stat) {  // its message starts with the path
      return Err(Status(stat.error().code(), "backup path " + stat.error().message()));
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
  return root;
}

Result<std::optional<Snapshot>> BackupRun::FindParent(const std::string& series) {
  if (opts_.parent) {
    CAIRN_ASSIGN_OR_RETURN(auto snaps, repo_.ListSnapshots());
    for (auto& s : snaps) {
      if (s.id == *opts_.parent) return std::optional<Snapshot>(std::move(s));
    }
    return Err(Status::NotFound("parent snapshot " + opts_.parent->Short()));
  }
  auto latest = repo_.FindSnapshot("latest", series);
  if (latest) return std::optional<Snapshot>(std::move(*latest));
  if (!latest.error().Is(ErrorCode::kNotFound)) return Err(latest.error());
  return std::optional<Snapshot>();
}

void BackupRun::StartWorkers() {
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
  trees_ = std::make_unique<TreeSaver>(
      [this](std::span<const Node> nodes, const std::string&) -> Result<Id> {
        auto codec = saver_->codecs().Acquire();
        return WriteTree(nodes, [&](Bytes plain) -> Result<Id> {
          Id tid = repo_.crypto().BlobId(plain);
          CAIRN_RETURN_IF_ERROR(saver_->Save(BlobType::kTree, tid, plain, *codec));
          return tid;
        });
      },
      [this] { return Cancelled(); }, [this](const Status& s) { Fail(s); });
}

Result<BackupResult> BackupRun::Run() {
  const int64_t start = NowNs();
  const std::string host = opts_.hostname.empty() ? ThisHost() : opts_.hostname;
  if (opts_.paths.empty()) return Err(Status::InvalidArgument("nothing to back up: give a path"));
  CAIRN_ASSIGN_OR_RETURN(VirtualDir root, NamedPaths());
  const std::string series =
      opts_.series.empty() ? DefaultSeries(host, opts_.paths) : opts_.series;
  CAIRN_RETURN_IF_ERROR(repo_.SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(std::optional<Snapshot> parent, FindParent(series));

  StartWorkers();
  std::thread scanner;
  if (progress_->want_scan.load()) {
    scanner = std::thread([&] {
      for (const auto& p : opts_.paths) {
        auto info = source_.Stat(p, false);
        if (!info) continue;
        if (info->type == NodeType::kDir) {
          Scan(p, *info);
        } else if (info->type == NodeType::kFile) {
          progress_->files_total.fetch_add(1);
          progress_->bytes_total.fetch_add(info->size);
        }
      }
      progress_->scan_done.store(true);
    });
  }
  const Id root_id = Walk(root, parent);
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
  return SaveSnapshot(start, host, series, parent, root_id);
}

Result<BackupResult> BackupRun::SaveSnapshot(int64_t start, const std::string& host,
                                             const std::string& series,
                                             const std::optional<Snapshot>& parent,
                                             const Id& root) {
  Snapshot snap;
  snap.time_ns = start;
  snap.hostname = host;
  snap.username = IdNameCache().UserName(geteuid());
  snap.series = series;
  snap.tags = opts_.tags;
  snap.paths = opts_.paths;
  if (parent) snap.parent = parent->id;
  snap.tree = root;
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
  const Source::StoredBefore before = source_.StoredBeforeRun();
  st.data_blobs_added = ss.data_blobs + before.data_blobs;
  st.tree_blobs_added = ss.tree_blobs;
  st.bytes_read = bytes_read_;
  st.raw_bytes_added = ss.raw_bytes + before.raw_bytes;
  st.stored_bytes_added = ss.stored_bytes + before.stored_bytes;
  st.errors = errors_;
  st.duration_ns = NowNs() - start;
  auto codec = repo_.NewCodec();
  CAIRN_ASSIGN_OR_RETURN(snap.id, repo_.SaveSnapshot(snap, *codec));
  return BackupResult{std::move(snap), errors_.load(), trees_->trees_written()};
}

Result<BackupResult> RunBackup(Repository& repo, Source& source, const BackupOptions& opts,
                               BackupProgress* progress, BackupObserver* observer,
                               const std::atomic<bool>* cancel) {
  BackupRun run(repo, source, opts, progress, observer, cancel);
  return run.Run();
}

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& opts,
                               BackupProgress* progress, BackupObserver* observer,
                               const std::atomic<bool>* cancel) {
  LocalSource source;
  return RunBackup(repo, source, opts, progress, observer, cancel);
}

}  // namespace cairn
