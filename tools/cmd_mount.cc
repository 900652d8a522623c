// cairn mount (cairn umount: tools/cmd_umount.cc)
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cache/blob_cache.h"
#include "cache/tree_cache.h"
#include "common/local_files.h"
#include "fs/archive_fs.h"
#include "fs/control_channel.h"
#include "fs/fuse_ops.h"
#include "fs/head_control.h"
#include "fs/head_tree.h"
#include "repo/content_reader.h"
#include "common/clock.h"
#include "tools/cli.h"
#include "tools/format.h"
#include "tools/mount_control.h"

namespace cairn {

namespace {

// --cache-size when not given, for a remote store (a local one gets none).
constexpr uint64_t kRemoteCacheBytes = uint64_t{10} << 30;

struct MountArgs {
  std::string mountpoint;
  bool foreground = false;
  std::vector<std::string> options;
  std::string log_file;
  std::string cache_size;  // empty: 10G for a remote store, 0 (none) for a local one
  bool refresh = false;
  unsigned threads = 16;
  // head/ (doc/semantics.md, "head/: the writable tree"): none with
  // read_only.
  bool read_only = false;
  std::string series;        // empty: the host name
  std::string staging_dir;   // empty: <cache dir>/head/<series, escaped>
  std::string staging_size;  // empty or 0: only the disk limits
  uint64_t staging_limit = 0;  // staging_size parsed (RunMount)
  std::string pack_delay;       // empty: HeadPackerOptions' default
  std::string seal_interval;    // empty: no periodic seal
  bool seal_on_unmount = false;
  int64_t pack_delay_ns = -1;   // parsed (RunMount); < 0: the default
  int64_t seal_interval_ns = 0;
};

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

// A series as one directory name under <cache dir>/head: bytes other than
// letters, digits, '-', '_' and '.' become %XX ("web:/srv" -> "web%3A%2Fsrv"),
// and a name of dots only or nothing cannot name another directory.
std::string StagingName(const std::string& series) {
  std::string out;
  for (unsigned char c : series) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  if (out.find_first_not_of('.') == std::string::npos) {
    std::string dots;
    for (size_t i = 0; i < out.size(); ++i) dots += "%2E";
    out = dots.empty() ? "%00" : dots;
  }
  return out;
}

// "lookup=12 getattr=3 ..." (by name).
std::string FormatCounts(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) {
    if (!out.empty()) out += ' ';
    out += name + "=" + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

std::optional<uint64_t> ParseSize(std::string s) {
  if (s.empty()) return std::nullopt;
  uint64_t mult = 1;
  char last = static_cast<char>(toupper(static_cast<unsigned char>(s.back())));
  if (last == 'B') {
    s.pop_back();
    if (s.empty()) return std::nullopt;
    last = static_cast<char>(toupper(static_cast<unsigned char>(s.back())));
  }
  const std::string units = "KMGT";
  if (auto p = units.find(last); p != std::string::npos) {
    mult = uint64_t{1} << (10 * (p + 1));
    s.pop_back();
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s) * mult;
}

// --seal-interval: runs fn every interval on a thread of its own until
// Stop (which waits for a run under way).
class HeadSealTimer {
 public:
  ~HeadSealTimer() { Stop(); }
  void Start(int64_t interval_ns, std::function<void()> fn) {
    thread_ = std::thread([this, interval_ns, fn = std::move(fn)] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::nanoseconds(interval_ns), [&] { return stop_; })) {
        lock.unlock();
        fn();
        lock.lock();
      }
    });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// The part of a mount that runs in the daemon (or in the foreground).
// ready(status) is called once: when the file system is mounted, or with
// the error that prevented it.
Status ServeMount(Context& ctx, const MountArgs& a, const std::string& password, uint64_t limit,
                  const std::function<void(const Status&)>& ready) {
  auto fail = [&](Status s) {
    ready(s);
    return s;
  };
  // head/ seals through this store; a --read-only mount never writes.
  auto store = ctx.OpenStoreFor(a.read_only);
  if (!store) return fail(store.error());
  auto repo = Repository::Open(std::move(*store), password, ctx.RepoOpenOptions());
  if (!repo) return fail(repo.error());
  // Loading index segments into a fresh cache frees large buffers into
  // the loader threads' malloc arenas; give them back before serving.
  malloc_trim(0);
  const std::string cache_dir = (*repo)->cache().dir();
  auto trees = TreeCache::Open(cache_dir + "/trees");
  if (!trees) return fail(trees.error());
  // --cache-size bounds the blob cache; decoded trees are small beside it.
  // 0 means no disk cache (the default for a local store, see RunMount).
  std::unique_ptr<BlobCache> blob_cache;
  if (limit > 0) {
    auto opened = BlobCache::Open(cache_dir + "/blobs", limit, &ctx.logger);
    if (!opened) return fail(opened.error());
    blob_cache = std::move(*opened);
  }
  // The daemon's memory budget (issue: <= 150 MB RSS while find and tar
  // walk a million files): decoded blobs and read-ahead share 32 MiB.
  ContentReaderOptions ro;
  ro.memory_cache_bytes = 32 << 20;
  ro.max_readahead_bytes = 16 << 20;
  const bool remote = (*repo)->store().Traits().remote();
  // A local pack read costs a system call, not a round trip: read ahead
  // across files without reading through other files' blobs.
  if (!remote) ro.max_prefetch_gap_bytes = 0;
  ContentReader reader(**repo, blob_cache.get(), ro);
  ArchiveFsOptions fo;
  fo.uid = getuid();
  fo.gid = getgid();
  fo.control_socket = "cairn-mount-" + std::to_string(getpid());
  // Subdirectories of listed directories are decoded ahead: one thread
  // uses the core a walker leaves idle (cold find of 13k directories from a
  // local repository 4.0 -> 2.3 s); over S3 the work is GET latency, so
  // more threads overlap more of it.
  fo.prefetch_threads = remote ? 4 : 1;
  // Over S3 a tree blob costs a GET; a snapshot's trees lie together in
  // tree packs, so fetch 1 MiB of them at a time.
  fo.tree_window_bytes = remote ? 1 << 20 : 0;
  fo.head_dir = !a.read_only;
  auto fs = ArchiveFs::Create(**repo, **trees, reader, fo);
  if (!fs) return fail(fs.error());
  // head/: its own tree in the router (kHead range) and its own FUSE
  // session on MNT/head (doc/semantics.md, "Two FUSE sessions").
  std::unique_ptr<HeadTree> head;
  if (!a.read_only) {
    HeadTreeOptions ho;
    ho.staging_dir = a.staging_dir;
    ho.staging_limit = a.staging_limit;
    ho.series = a.series;
    ho.hostname = HostName();
    ho.uid = fo.uid;
    ho.gid = fo.gid;
    if (a.pack_delay_ns >= 0) ho.packer.idle_ns = a.pack_delay_ns;
    std::error_code ec;
    std::filesystem::create_directories(a.staging_dir, ec);
    if (ec) {
      return fail(Status::IOError("cannot create the staging directory " + a.staging_dir + ": " +
                                  ec.message()));
    }
    auto opened = HeadTree::Open(**fs, **repo, reader, LocalFiles::Posix(), ho);
    if (!opened) return fail(opened.error());
    head = std::move(*opened);
    (*fs)->AttachTree(TreeKind::kHead, head.get());
  }
  FuseMountOptions mo;
  mo.mountpoint = a.mountpoint;
  mo.options = a.options;
  mo.max_threads = a.threads;
  auto mount = FuseMount::Mount(**fs, mo, ctx.logger);
  if (!mount) return fail(mount.error());
  FuseMount& m = **mount;
  // The snapshot session serves from here on: mounting head/ on MNT/head
  // looks "head" up in it.
  Status s;
  std::thread snapshots_loop([&] { s = m.Run(); });
  std::unique_ptr<FuseMount> head_mount;
  std::thread head_loop;
  if (head) {
    FuseMountOptions ho = mo;
    ho.mountpoint = HeadMountPoint(a.mountpoint);
    ho.root_ino = HeadTree::kRootIno;
    auto hm = FuseMount::Mount(**fs, ho, ctx.logger);
    if (!hm) {
      m.Stop();
      snapshots_loop.join();
      return fail(hm.error());
    }
    head_mount = std::move(*hm);
    head_loop = std::thread([&] {
      Status hs = head_mount->Run();
      if (!hs.ok()) ctx.logger.Error("mount: head/: {}", hs.message());
      ctx.logger.Info("mount: {} unmounted", HeadMountPoint(a.mountpoint));
      Status synced = head->SyncAll();
      if (!synced.ok()) ctx.logger.Error("mount: head/: {}", synced.message());
    });
  }
  // head/ first: MNT cannot be unmounted while head/ is mounted in it
  // (lazily it could, but head/ would be detached with it unannounced).
  auto stop_all = [&] {
    if (head_mount) head_mount->Stop();
    m.Stop();
  };
  // Every seal (`cairn seal`, --seal-interval, --seal-on-unmount): the new
  // snapshot shows in snapshots/ at once.
  auto seal_head = [&](const SealRequest& req) -> Result<SealReport> {
    CAIRN_ASSIGN_OR_RETURN(SealReport report, head->Seal(req, &ctx.cancel));
    if (Status r = (*fs)->Refresh(); !r.ok()) {
      ctx.logger.Warn("mount: after the seal: {}", r.message());
    }
    return report;
  };
  // `cairn umount` asks before unmounting (a plain umount does not wait).
  auto prepare_umount = [&]() -> Result<std::string> {
    if (a.seal_on_unmount && head->GetStatus().changed_entries > 0) {
      CAIRN_ASSIGN_OR_RETURN(SealReport r, seal_head(SealRequest{}));
      return "sealed snapshots/" + r.name + " (" + r.snapshot.Hex() + ")";
    }
    CAIRN_RETURN_IF_ERROR(head->StoreStaged(&ctx.cancel));
    const HeadStatus st = head->GetStatus();
    return "staged data stored (" + FormatBytes(st.bytes_uploaded) +
           " uploaded since the last seal; seal to make a snapshot of it)";
  };
  HeadSealTimer timer;
  if (head && a.seal_interval_ns > 0) {
    timer.Start(a.seal_interval_ns, [&] {
      // Nothing changed since the last seal: no snapshot.
      if (head->GetStatus().changed_entries == 0) return;
      auto r = seal_head(SealRequest{});
      if (!r) ctx.logger.Error("mount: periodic seal: {}", r.error().message());
    });
  }
  auto control = ControlServer::Start(
      fo.control_socket,
      [&](const std::string& cmd) -> Result<std::string> {
        if (cmd == "refresh") {
          CAIRN_RETURN_IF_ERROR((*fs)->Refresh());
          return std::string("refreshed");
        }
        if (cmd == "umount") {
          stop_all();
          return std::string("unmounting");
        }
        if (cmd == "status") {
          std::string reply = "mounted at " + a.mountpoint +
                              "; snapshot requests: " + FormatCounts(m.RequestCounts());
          if (head_mount) reply += "; head/ requests: " + FormatCounts(head_mount->RequestCounts());
          return reply;
        }
        const bool seal = cmd == "seal" || cmd.rfind("seal ", 0) == 0;
        if ((seal || cmd == "head-status") && !head) {
          return Err(Status::InvalidArgument(a.mountpoint +
                                             " was mounted with --read-only: it has no head/"));
        }
        if (cmd == "prepare-umount") {
          if (!head) return std::string("no head/");
          return prepare_umount();
        }
        if (seal) {
          CAIRN_ASSIGN_OR_RETURN(SealRequest req,
                                 DecodeSealRequest(cmd.size() > 5 ? cmd.substr(5) : "{}"));
          CAIRN_ASSIGN_OR_RETURN(SealReport report, seal_head(req));
          return EncodeSealReport(report);
        }
        if (cmd == "head-status") {
          HeadStatus st = head->GetStatus();
          st.fuse_requests = head_mount->RequestCounts();
          return EncodeHeadStatus(st);
        }
        return Err(Status::InvalidArgument("unknown command \"" + cmd + "\""));
      },
      ctx.logger);
  if (!control) {
    timer.Stop();
    stop_all();
    snapshots_loop.join();
    if (head_loop.joinable()) head_loop.join();
    return fail(control.error());
  }
  // SIGINT/SIGTERM (ctx.cancel, set by the signal thread) unmount cleanly.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (ctx.cancel.load()) {
        ctx.logger.Info("mount: signal received, unmounting {}", a.mountpoint);
        stop_all();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  ctx.logger.Info("mount: {} mounted at {}{}", (*repo)->store().Describe(), a.mountpoint,
                  head ? " (head/ of series " + a.series + ", staging in " + a.staging_dir + ")"
                       : std::string());
  ready(Status::OK());
  // The daemon lives as long as the snapshot session; head/ goes with it
  // (unmounted alone, head/ leaves the snapshots mounted).
  snapshots_loop.join();
  if (head_mount) {
    head_mount->Stop();
    head_loop.join();
  }
  done.store(true);
  watcher.join();
  control->reset();
  timer.Stop();
  if (head) {
    // Every acknowledged change durable before the daemon exits (the loop
    // synced when it ended; changes cannot arrive since).
    if (Status synced = head->SyncAll(); !synced.ok()) {
      ctx.logger.Error("mount: head/: {}", synced.message());
      if (s.ok()) s = synced;
    }
    ctx.logger.Info("mount: head/ requests: {}", FormatCounts(head_mount->RequestCounts()));
  }
  head_mount.reset();
  mount->reset();
  (*fs)->AttachTree(TreeKind::kHead, nullptr);
  head.reset();
  const ContentReaderStats rs = reader.stats();
  ctx.logger.Info(
      "mount: reads: {} blobs from RAM, {} from the disk cache, {} from the store in {} GETs "
      "({} bytes); read ahead: {} blobs within files, {} blobs of {} files across files ({} "
      "blobs of them read, {} files never opened); {} blobs fetched again after a background "
      "failure",
      rs.ram_hits, rs.disk_hits, rs.store_blobs, rs.store_gets, rs.store_bytes, rs.readahead_blobs,
      rs.prefetch_blobs, rs.prefetch_files, rs.prefetch_hits, rs.prefetch_wasted,
      rs.background_retries);
  ctx.logger.Info("mount: directories: {} listed ahead, {} first listings answered from them",
                  (*fs)->prefetched_dirs(), (*fs)->ready_listings_served());
  ctx.logger.Info("mount: listings: {} with file attributes, {} with names and types only",
                  (*fs)->listing_policy().with_attributes(),
                  (*fs)->listing_policy().without_attributes());
  if (fo.tree_window_bytes > 0) {
    const TreeFetcherStats ts = (*fs)->tree_window_stats();
    ctx.logger.Info("mount: trees: {} windows fetched ({} bytes), {} more tree blobs read from them without a GET",
                    ts.gets, ts.get_bytes, ts.hits);
  }
  ctx.logger.Info("mount: {} unmounted", a.mountpoint);
  return s;
}

// Forks the daemon: the parent returns once the child reports the mount
// ready (or its error) through a pipe.
Status Daemonize(Context& ctx, const MountArgs& a, const std::string& password, uint64_t limit,
                 const std::string& log_file) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Status::IOError("pipe: " + std::string(strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork: " + std::string(strerror(errno)));
  if (pid > 0) {
    close(pipefd[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) msg.append(buf, static_cast<size_t>(n));
    }
    close(pipefd[0]);
    if (msg.rfind("ok", 0) == 0) return Status::OK();
    if (msg.empty()) return Status::IOError("the mount daemon exited before mounting; see " + log_file);
    auto code = static_cast<ErrorCode>(static_cast<unsigned char>(msg[0]));
    return Status(code, msg.substr(1));
  }
  // Child: a new session, no terminal, logs to the file. The signal thread
  // of the parent does not survive fork(), so start ours.
  close(pipefd[0]);
  setsid();
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  if (log >= 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  std::thread([&ctx, set] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) ctx.cancel.store(true);
  }).detach();
  ctx.logger.SetLevel(ctx.verbose >= 2 ? LogLevel::kDebug : LogLevel::kInfo);
  bool reported = false;
  Status s = ServeMount(ctx, a, password, limit, [&](const Status& st) {
    std::string msg = st.ok() ? "ok" : std::string(1, static_cast<char>(st.code())) + st.message();
    (void)!write(pipefd[1], msg.data(), msg.size());
    close(pipefd[1]);
    reported = true;
  });
  if (!s.ok()) ctx.logger.Error("mount: {}", s.message());
  fflush(stdout);
  _exit(s.ok() ? 0 : 1);
}

Status RunMount(Context& ctx, const MountArgs& a) {
  if (a.refresh) {
    CAIRN_ASSIGN_OR_RETURN(std::string name, ControlNameOf(a.mountpoint));
    CAIRN_ASSIGN_OR_RETURN(std::string reply, ControlRequest(name, "refresh"));
    ctx.Say(a.mountpoint + ": " + reply);
    return Status::OK();
  }
  struct stat st;
  char* real = realpath(a.mountpoint.c_str(), nullptr);
  if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
    free(real);
    return Status::InvalidArgument("mount point " + a.mountpoint +
                                   " is not a directory (create it first)");
  }
  MountArgs args = a;
  args.mountpoint = real;
  free(real);
  // FUSE would stack a second mount on top of the first; refuse instead.
  if (auto name = ControlNameOf(args.mountpoint)) {
    return Status::AlreadyExists("mount point " + a.mountpoint +
                                 " is already a cairn mount (daemon " + *name +
                                 "); unmount it first with `cairn umount " + a.mountpoint + "`");
  }
  std::optional<uint64_t> limit;
  if (!a.cache_size.empty()) {
    limit = ParseSize(a.cache_size);
    if (!limit) {
      return Status::InvalidArgument("--cache-size " + a.cache_size +
                                     ": expected bytes with an optional K, M, G or T suffix");
    }
  }
  if (!a.staging_size.empty()) {
    auto staging = ParseSize(a.staging_size);
    if (!staging) {
      return Status::InvalidArgument("--staging-size " + a.staging_size +
                                     ": expected bytes with an optional K, M, G or T suffix");
    }
    args.staging_limit = *staging;
  }
  if (!a.pack_delay.empty()) {
    auto d = ParseDuration(a.pack_delay);
    if (!d) {
      return Status::InvalidArgument("--pack-delay " + a.pack_delay +
                                     ": expected a duration such as 2s or 1m");
    }
    args.pack_delay_ns = *d * kNsPerSecond;
  }
  if (!a.seal_interval.empty()) {
    auto d = ParseDuration(a.seal_interval);
    if (!d || *d == 0) {
      return Status::InvalidArgument("--seal-interval " + a.seal_interval +
                                     ": expected a duration such as 30m, 6h or 1d");
    }
    args.seal_interval_ns = *d * kNsPerSecond;
  }
  if (a.read_only && (args.seal_interval_ns > 0 || a.seal_on_unmount)) {
    return Status::InvalidArgument(
        "--seal-interval and --seal-on-unmount need head/: not with --read-only");
  }
  if (args.series.empty()) args.series = HostName();
  // Fail on a missing repository or a wrong password here, in the
  // foreground, before forking.
  std::string pw;
  std::string cache_dir;
  {
    CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true, &pw));
    cache_dir = repo->cache().dir();
    // The packs of a local store are on a local disk already: caching them
    // would write every byte read a second time and make no read faster.
    if (!limit) limit = repo->store().Traits().remote() ? kRemoteCacheBytes : 0;
  }
  if (args.staging_dir.empty()) {
    args.staging_dir = cache_dir + "/head/" + StagingName(args.series);
  } else {
    args.staging_dir = std::filesystem::absolute(args.staging_dir).lexically_normal().string();
  }
  if (a.foreground) {
    return ServeMount(ctx, args, pw, *limit, [](const Status&) {});
  }
  std::string log_file = a.log_file.empty() ? cache_dir + "/mount.log" : a.log_file;
  CAIRN_RETURN_IF_ERROR(Daemonize(ctx, args, pw, *limit, log_file));
  ctx.Say("mounted at " + a.mountpoint + " (log: " + log_file + "; unmount with `cairn umount " +
          a.mountpoint + "`)");
  return Status::OK();
}

}  // namespace

void RegisterMount(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<MountArgs>();
  auto* cmd = app.add_subcommand(
      "mount", "browse every snapshot read-only, and write the next one into head/");
  cmd->add_option("mountpoint", a.mountpoint, "an existing directory")->required();
  cmd->add_flag("-f,--foreground", a.foreground, "stay in the foreground (logs on stderr)");
  cmd->add_option("-o", a.options, "FUSE options: allow_other, default_permissions, ...")
      ->delimiter(',');
  cmd->add_option("--log", a.log_file, "daemon log file (default: mount.log in the cache dir)");
  cmd->add_option("--cache-size", a.cache_size,
                  "hard limit on the local blob cache; 0: none (default 10G for s3://, "
                  "0 for a local directory)");
  cmd->add_option("--threads", a.threads, "FUSE worker threads (default 16)");
  cmd->add_flag("--refresh", a.refresh,
                "ask the daemon serving MOUNTPOINT to re-read the snapshot list now");
  cmd->add_option("--series", a.series,
                  "the series head/ continues and `cairn seal` writes (default: the host name)");
  cmd->add_option("--staging-dir", a.staging_dir,
                  "where head/ keeps its journal and the data written to it (default: "
                  "head/<series> in the cache dir)");
  cmd->add_option("--staging-size", a.staging_size,
                  "limit on data staged in head/ and not yet stored (K, M, G, T; default 0: "
                  "only the disk)");
  cmd->add_option("--pack-delay", a.pack_delay,
                  "pack a file written in head/ once it was not written for this long "
                  "(default 2s)");
  cmd->add_option("--seal-interval", a.seal_interval,
                  "seal head/ this often (30m, 6h, 1d), skipping when nothing changed");
  cmd->add_flag("--seal-on-unmount", a.seal_on_unmount,
                "`cairn umount` seals head/ first when it changed");
  cmd->add_flag("--read-only", a.read_only, "no head/: only the snapshots, read-only");
  cmd->callback([&] { ctx.run = [&] { return RunMount(ctx, a); }; });

  RegisterUmount(app, ctx);
}

}  // namespace cairn
