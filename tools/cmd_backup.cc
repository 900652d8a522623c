// cairn backup
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "repo/backup.h"
#include "repo/local_source.h"
#include "repo/stdin_source.h"
#include "tools/cli.h"
#include "tools/format.h"
#include "tools/progress.h"

namespace cairn {

namespace {

struct BackupArgs {
  std::vector<std::string> paths;
  bool from_stdin = false;
  std::string stdin_name = "stdin";
  std::vector<std::string> files_from;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  bool one_file_system = false;
  std::vector<std::string> tags;
  std::string series;
  std::string host;
  std::string parent;
  bool force = false;
  size_t threads = 0;
  std::string retention;  // lock period of this snapshot (object-lock repositories)
};

// Reports skipped items on stderr as they happen (restic prints them too).
class PrintingObserver : public BackupObserver {
 public:
  // On a terminal each line first erases the progress line.
  explicit PrintingObserver(bool tty) : clear_(tty ? "\r\033[K" : "") {}
  void Skipped(const std::string& path, const Status& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    fprintf(stderr, "%scairn: skipped %s: %s\n", clear_, path.c_str(), why.message().c_str());
  }
  void Warning(const std::string& path, const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    fprintf(stderr, "%scairn: warning: %s: %s\n", clear_, path.c_str(), what.c_str());
  }

 private:
  const char* clear_;
  std::mutex mu_;
};

Result<std::vector<std::string>> ReadLines(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Err(Status::NotFound("cannot read " + file));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

// Absolute, lexically normal, without a trailing '/' (symlinks not resolved,
// so the snapshot records the path the user named).
std::string AbsolutePath(const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative()) path = std::filesystem::current_path() / path;
  std::string s = path.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Status RunBackupCmd(Context& ctx, const BackupArgs& a) {
  BackupOptions o;
  for (const auto& p : a.paths) o.paths.push_back(AbsolutePath(p));
  for (const auto& f : a.files_from) {
    CAIRN_ASSIGN_OR_RETURN(auto lines, ReadLines(f));
    for (const auto& p : lines) o.paths.push_back(AbsolutePath(p));
  }
  LocalSourceOptions local;
  local.excludes = a.excludes;
  for (const auto& f : a.exclude_files) {
    CAIRN_ASSIGN_OR_RETURN(auto lines, ReadLines(f));
    local.excludes.insert(local.excludes.end(), lines.begin(), lines.end());
  }
  if (a.from_stdin && !o.paths.empty()) {
    return Status::InvalidArgument("--stdin takes no paths (name the file with --stdin-name)");
  }
  if (o.paths.empty() && !a.from_stdin) {
    return Status::InvalidArgument("nothing to back up: give at least one path, --files-from "
                                   "or --stdin");
  }
  local.one_file_system = a.one_file_system;
  o.tags = a.tags;
  o.series = a.series;
  o.hostname = a.host;
  o.force_read = a.force;
  o.threads = a.threads;
  std::optional<int64_t> retention;
  if (!a.retention.empty()) {
    retention = ParseDuration(a.retention);
    if (!retention) {
      return Status::InvalidArgument("--retention \"" + a.retention +
                                     "\": give a period such as 90d, 12w or 1y");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository());
  if (retention) CAIRN_RETURN_IF_ERROR(repo->OverrideRetention(*retention));
  // Over a remote store each upload thread keeps one connection busy.
  if (const unsigned c = repo->store().Traits().connections; c > 0) o.upload_threads = c;
  if (!a.parent.empty()) {
    CAIRN_ASSIGN_OR_RETURN(Snapshot parent, repo->FindSnapshot(a.parent, a.series));
    o.parent = parent.id;
  }
  // --stdin is a source of its own holding one file, /<name>.
  std::unique_ptr<Source> source;
  if (a.from_stdin) {
    CAIRN_ASSIGN_OR_RETURN(auto in, StdinSource::Make(a.stdin_name, STDIN_FILENO));
    o.paths = {in->path()};
    source = std::move(in);
  } else {
    source = std::make_unique<LocalSource>(std::move(local));
  }

  BackupProgress progress;
  progress.want_scan = ctx.ShowProgress();
  PrintingObserver observer(ctx.ShowProgress());
  ProgressLine line(ctx.ShowProgress(), [&](double t) {
    uint64_t files = progress.files_done, bytes = progress.bytes_done;
    std::string s = "[" + FormatClock(t) + "] " + std::to_string(files);
    if (progress.scan_done && progress.bytes_total) {
      uint64_t total = progress.bytes_total;
      double pct = 100.0 * static_cast<double>(bytes) / static_cast<double>(total);
      s += " / " + std::to_string(progress.files_total.load()) + " files, " + FormatBytes(bytes) +
           " / " + FormatBytes(total) + " (" + std::to_string(static_cast<int>(pct)) + "%)";
      double rate = t > 0 ? static_cast<double>(bytes) / t : 0;
      if (rate > 0 && bytes < total) {
        s += ", " + FormatRate(rate) + ", ETA " +
             FormatClock(static_cast<double>(total - bytes) / rate);
      }
    } else {
      s += " files, " + FormatBytes(bytes);
      if (t > 0) s += ", " + FormatRate(static_cast<double>(bytes) / t);
    }
    return s;
  });
  auto result = RunBackup(*repo, *source, o, &progress, &observer, &ctx.cancel);
  line.Stop();
  if (!result) return result.error();
  const Snapshot& snap = result->snapshot;
  const SnapshotStats& st = snap.stats;
  if (ctx.json) {
    nlohmann::json j = {{"snapshot_id", snap.id.Hex()},
                        {"series", snap.series},
                        {"parent", snap.parent ? snap.parent->Hex() : ""},
                        {"files_new", st.files_new},
                        {"files_changed", st.files_changed},
                        {"files_unmodified", st.files_unmodified},
                        {"dirs", st.dirs},
                        {"total_files", st.files},
                        {"total_bytes", st.bytes},
                        {"bytes_read", st.bytes_read},
                        {"data_blobs_added", st.data_blobs_added},
                        {"tree_blobs_added", st.tree_blobs_added},
                        {"raw_bytes_added", st.raw_bytes_added},
                        {"stored_bytes_added", st.stored_bytes_added},
                        {"skipped", result->skipped},
                        {"duration_s", static_cast<double>(st.duration_ns) / 1e9}};
    if (const int64_t until = repo->SnapshotRetainUntil(snap.time_ns); until != 0) {
      j["retain_until"] = FormatTime(until);
    }
    printf("%s\n", DumpJson(j).c_str());
  } else {
    if (snap.parent) ctx.Say("using parent snapshot " + snap.parent->Short());
    ctx.Say("Files:       " + std::to_string(st.files_new) + " new, " +
            std::to_string(st.files_changed) + " changed, " + std::to_string(st.files_unmodified) +
            " unmodified");
    ctx.Say("Dirs:        " + std::to_string(st.dirs));
    ctx.Say("Added:       " + FormatBytes(st.raw_bytes_added) + " (" +
            FormatBytes(st.stored_bytes_added) + " stored)");
    ctx.Say("processed " + Count(st.files, "file") + ", " + FormatBytes(st.bytes) + " in " +
            FormatDuration(st.duration_ns));
    ctx.Say("snapshot " + snap.id.Short() + " saved");
    if (const int64_t until = repo->SnapshotRetainUntil(snap.time_ns); until != 0) {
      ctx.Say("locked (" + std::string(LockModeConfigName(repo->config().lock_mode)) +
              ") until " + FormatTime(until));
    }
  }
  if (result->skipped) {
    return Status::Partial("snapshot " + snap.id.Short() + " saved, but " +
                           Count(result->skipped, "item") +
                           (result->skipped == 1 ? " could not be read and is not in it"
                                                 : " could not be read and are not in it") +
                           " (listed above)");
  }
  return Status::OK();
}

}  // namespace

void RegisterBackup(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<BackupArgs>();
  auto* cmd = app.add_subcommand("backup", "back up files and directories into a new snapshot");
  cmd->add_option("PATH", a.paths, "files and directories to back up");
  cmd->add_flag("--stdin", a.from_stdin, "back up standard input as one file");
  cmd->add_option("--stdin-name", a.stdin_name, "file name for --stdin (default stdin)");
  cmd->add_option("--files-from", a.files_from, "read paths to back up from a file (one a line)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-e,--exclude", a.excludes, "exclude a pattern (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--exclude-file", a.exclude_files, "read exclude patterns from a file")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-x,--one-file-system", a.one_file_system, "stay on the file systems named");
  cmd->add_option("--tag", a.tags, "add a tag to the snapshot (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--series", a.series, "series of the snapshot (default host:paths)");
  cmd->add_option("--host", a.host, "host name to record (default this host)");
  cmd->add_option("--parent", a.parent, "snapshot id to compare against (default latest of the series)");
  cmd->add_flag("--force", a.force, "read every file, even unchanged ones");
  cmd->add_option("--threads", a.threads, "worker threads (default: one per core)");
  cmd->add_option("--retention", a.retention,
                  "lock this snapshot for this period instead of the repository's default "
                  "(object-lock repositories), e.g. 180d");
  cmd->callback([&] { ctx.run = [&] { return RunBackupCmd(ctx, a); }; });
}

}  // namespace cairn
