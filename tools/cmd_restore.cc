// cairn restore
#include <cstdio>
#include <mutex>

#include "common/clock.h"
#include "repo/restore.h"
#include "tools/cli.h"
#include "tools/format.h"
#include "tools/progress.h"

namespace cairn {

namespace {

struct RestoreArgs {
  std::string snap, target, series;
  std::vector<std::string> includes, excludes;
  size_t threads = 0;
};

class PrintingRestoreObserver : public RestoreObserver {
 public:
  explicit PrintingRestoreObserver(bool tty) : clear_(tty ? "\r\033[K" : "") {}
  void Failed(const std::string& path, const Status& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    fprintf(stderr, "%scairn: could not restore %s: %s\n", clear_, path.c_str(),
            why.message().c_str());
  }

 private:
  const char* clear_;
  std::mutex mu_;
};

Status RunRestoreCmd(Context& ctx, const RestoreArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  CAIRN_RETURN_IF_ERROR(repo->SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(Snapshot snap, repo->FindSnapshot(a.snap, a.series));
  RestoreOptions o;
  o.target = a.target;
  o.includes = a.includes;
  o.excludes = a.excludes;
  o.threads = a.threads;
  // Fetches from a remote store wait on the network: one per connection.
  if (const unsigned c = repo->store().Traits().connections; o.threads == 0 && c > 0) {
    o.threads = c;
  }
  RestoreProgress progress;
  PrintingRestoreObserver observer(ctx.ShowProgress());
  const int64_t start = MonotonicNs();
  ProgressLine line(ctx.ShowProgress(), [&](double t) {
    uint64_t bytes = progress.bytes_done, total = progress.bytes_total;
    std::string s = "[" + FormatClock(t) + "] " + std::to_string(progress.files_done.load()) +
                    " / " + std::to_string(progress.files_total.load()) + " files, " +
                    FormatBytes(bytes) + " / " + FormatBytes(total);
    double rate = t > 0 ? static_cast<double>(bytes) / t : 0;
    if (rate > 0 && bytes < total) {
      s += ", " + FormatRate(rate) + ", ETA " + FormatClock(static_cast<double>(total - bytes) / rate);
    }
    return s;
  });
  auto st = RunRestore(*repo, snap, o, &progress, &observer, &ctx.cancel);
  line.Stop();
  if (!st) return st.error();
  const int64_t took = MonotonicNs() - start;
  if (ctx.json) {
    printf("%s\n", DumpJson({{"snapshot_id", snap.id.Hex()},
                             {"target", a.target},
                             {"files", st->files},
                             {"dirs", st->dirs},
                             {"others", st->others},
                             {"bytes", st->bytes},
                             {"failed", st->failed},
                             {"duration_s", static_cast<double>(took) / 1e9}})
                       .c_str());
  } else {
    ctx.Say("restored snapshot " + snap.id.Short() + " to " + a.target + ": " +
            Count(st->files, "file") + ", " + Count(st->dirs, "dir") + ", " +
            FormatBytes(st->bytes) + " in " + FormatDuration(took));
  }
  if (st->failed) {
    std::string m = Count(st->failed, "item") + " could not be restored (listed above)";
    if (st->corruption) return Status::Corruption(m + "; run `cairn check --read-data`");
    return Status::Partial(m);
  }
  return Status::OK();
}

}  // namespace

void RegisterRestore(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<RestoreArgs>();
  auto* cmd = app.add_subcommand("restore", "restore a snapshot to a directory");
  cmd->add_option("SNAP", a.snap, "snapshot id prefix or `latest`")->required();
  cmd->add_option("-t,--target", a.target, "directory to restore into")->required();
  cmd->add_option("--series", a.series, "with `latest`: the latest of this series");
  cmd->add_option("-i,--include", a.includes, "restore only matching paths (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-e,--exclude", a.excludes, "do not restore matching paths (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--threads", a.threads, "parallel file writers (default: two per core)");
  cmd->callback([&] { ctx.run = [&] { return RunRestoreCmd(ctx, a); }; });
}

}  // namespace cairn
