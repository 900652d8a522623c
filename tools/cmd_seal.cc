// cairn seal: asks the daemon serving a mount to turn head/ into a
// snapshot (or, with --status, how head/ stands), over the control channel
// (fs/control_channel.h, fs/head_control.h). Needs no repository and no
// password: the daemon has both.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/clock.h"
#include "fs/control_channel.h"
#include "fs/head_control.h"
#include "tools/cli.h"
#include "tools/format.h"
#include "tools/mount_control.h"

namespace cairn {

namespace {

struct SealArgs {
  std::string mountpoint;
  std::vector<std::string> tags;
  std::string message;
  bool status = false;
};

// The daemon of mountpoint; when mountpoint is head/ of a mount, the
// NotFound message says to give the mount point instead.
Result<std::string> DaemonOf(const std::string& mountpoint) {
  auto name = ControlNameOf(mountpoint);
  if (name) return name;
  std::string parent = mountpoint;
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  const size_t slash = parent.rfind('/');
  if (parent.substr(slash == std::string::npos ? 0 : slash + 1) == "head") {
    parent = slash == std::string::npos ? "." : slash == 0 ? "/" : parent.substr(0, slash);
    if (ControlNameOf(parent)) {
      return Err(Status::NotFound(name.error().message() + "; it is head/ of the cairn mount " +
                                  parent + ": run `cairn seal " + parent + "`"));
    }
  }
  return name;
}

// An answer this client cannot read comes from a daemon of another cairn
// version: not the user's usage error, so not InvalidArgument.
Status UnreadableAnswer(const std::string& mountpoint, const Status& s) {
  return Status::IOError("the daemon serving " + mountpoint + " sent an answer this cairn " +
                         "cannot read (" + s.message() + "); are daemon and client the same " +
                         "cairn version? Remount to restart the daemon");
}

// head/ paths as printed: "head/<path>" whether or not the daemon wrote the
// "head/" prefix.
std::string HeadPath(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p.rfind("head/", 0) == 0) return p;
  return "head/" + p;
}

Status RunStatus(Context& ctx, const SealArgs& a, const std::string& daemon) {
  CAIRN_ASSIGN_OR_RETURN(std::string reply, ControlRequest(daemon, "head-status"));
  auto decoded = DecodeHeadStatus(reply);
  if (!decoded) return UnreadableAnswer(a.mountpoint, decoded.error());
  const HeadStatus& s = *decoded;
  if (ctx.json) {
    printf("%s\n", EncodeHeadStatus(s).c_str());
    return Status::OK();
  }
  ctx.Say("series:          " + s.series);
  ctx.Say("base snapshot:   " + (s.base ? s.base->Hex() : std::string("none (a new series)")));
  ctx.Say("staged:          " + FormatBytes(s.staged_bytes) + " (limit " +
          (s.staging_limit ? FormatBytes(s.staging_limit) : std::string("none but the disk")) +
          ")");
  ctx.Say("changed entries: " + std::to_string(s.changed_entries));
  ctx.Say("pending files:   " + std::to_string(s.files_pending));
  ctx.Say("packed files:    " + std::to_string(s.files_packed) + " (since the last seal: " +
          FormatBytes(s.bytes_packed) + " packed, " + FormatBytes(s.bytes_uploaded) +
          " uploaded)");
  if (!s.pack_error.empty()) ctx.Say("packing error:   " + s.pack_error);
  std::string oldest = "none";
  if (s.oldest_change_ns > 0) {
    oldest = FormatDuration(std::max<int64_t>(0, NowNs() - s.oldest_change_ns)) + " ago";
  }
  ctx.Say("oldest change:   " + oldest);
  ctx.Say(std::string("sealing:         ") + (s.sealing ? "yes" : "no"));
  // Most frequent first: what dominates the round trips shows at the top.
  std::vector<std::pair<std::string, uint64_t>> counts(s.fuse_requests.begin(),
                                                       s.fuse_requests.end());
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  ctx.Say(counts.empty() ? "FUSE requests:   none" : "FUSE requests:");
  for (const auto& [op, n] : counts) ctx.Say("  " + op + " " + std::to_string(n));
  return Status::OK();
}

Status RunSeal(Context& ctx, const SealArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(std::string daemon, DaemonOf(a.mountpoint));
  if (a.status) return RunStatus(ctx, a, daemon);
  // A seal waits for staged data to be stored, so it may take minutes: no
  // timeout. Ctrl-C stops waiting; the daemon finishes the seal anyway.
  ControlRequestOptions o;
  o.timeout_ms = -1;
  o.cancel = &ctx.cancel;
  auto reply = ControlRequest(daemon, "seal " + EncodeSealRequest({a.tags, a.message}), o);
  if (!reply && reply.error().Is(ErrorCode::kCancelled)) {
    return Status::Cancelled("stopped waiting; the daemon serving " + a.mountpoint +
                             " goes on with the seal (see `cairn seal --status " + a.mountpoint +
                             "` and its log)");
  }
  if (!reply) return reply.error();
  auto decoded = DecodeSealReport(*reply);
  if (!decoded) return UnreadableAnswer(a.mountpoint, decoded.error());
  const SealReport& r = *decoded;
  if (ctx.json) {
    printf("%s\n", EncodeSealReport(r).c_str());
  } else {
    ctx.Say("sealed " + (r.name.empty() ? std::string("snapshot") : "snapshots/" + r.name) +
            " (" + r.snapshot.Hex() + ")");
    ctx.Say(std::to_string(r.files_new) + " new, " + std::to_string(r.files_changed) +
            " changed, " + std::to_string(r.files_unmodified) + " unmodified files; " +
            FormatBytes(r.bytes_read) + " read, " + FormatBytes(r.stored_bytes_added) +
            " stored, " + std::to_string(r.trees_written) + " trees written in " +
            FormatDuration(r.duration_ns));
    for (const std::string& p : r.leftover_temp_files) {
      ctx.logger.Warn(
          "leftover rsync temporary: {} (from a killed rsync; delete it and seal again, or keep "
          "it)",
          HeadPath(p));
    }
  }
  if (r.skipped > 0) {
    return Status::Partial("snapshot " + r.snapshot.Short() + " sealed, but " +
                           std::to_string(r.skipped) +
                           " entries of head/ are not in it (each is named in the daemon's log)");
  }
  return Status::OK();
}

}  // namespace

void RegisterSeal(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<SealArgs>();
  auto* cmd = app.add_subcommand(
      "seal", "turn head/ of a mount into a snapshot (after rsync into MOUNTPOINT/head/)");
  cmd->add_option("mountpoint", a.mountpoint, "the mount point (not its head/)")->required();
  cmd->add_option("--tag", a.tags, "add a tag to the snapshot (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-m,--message", a.message, "a free-text note stored with the snapshot");
  cmd->add_flag("--status", a.status,
                "print staged bytes, pending and packed files, bytes packed and uploaded in the "
                "background, the oldest change and FUSE request counts instead of sealing");
  cmd->callback([&] {
    if (a.status && (!a.tags.empty() || !a.message.empty())) {
      throw CLI::ValidationError("--status", "takes no --tag or --message");
    }
    ctx.run = [&] { return RunSeal(ctx, a); };
  });
}

}  // namespace cairn
