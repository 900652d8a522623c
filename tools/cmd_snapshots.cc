// cairn snapshots, ls, cat, stats
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "repo/stats.h"
#include "repo/tree_walk.h"
#include "tools/cli.h"
#include "tools/format.h"

namespace cairn {

namespace {

struct SnapshotsArgs {
  std::string series, host;
  std::vector<std::string> tags;
};

Status RunSnapshots(Context& ctx, const SnapshotsArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  CAIRN_ASSIGN_OR_RETURN(auto all, repo->ListSnapshots());
  std::vector<Snapshot> shown;
  for (auto& s : all) {
    if (!a.series.empty() && s.series != a.series) continue;
    if (!a.host.empty() && s.hostname != a.host) continue;
    bool tags_ok = std::all_of(a.tags.begin(), a.tags.end(), [&](const std::string& t) {
      return std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end();
    });
    if (tags_ok) shown.push_back(std::move(s));
  }
  if (ctx.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : shown) arr.push_back(SnapshotJson(s));
    printf("%s\n", DumpJson(arr).c_str());
    return Status::OK();
  }
  std::vector<std::vector<std::string>> rows{{"ID", "Time", "Host", "Series", "Tags", "Paths", "Size"}};
  for (const auto& s : shown) {
    std::string tags, paths;
    for (const auto& t : s.tags) tags += (tags.empty() ? "" : ",") + t;
    for (const auto& p : s.paths) paths += (paths.empty() ? "" : ",") + p;
    rows.push_back({s.id.Short(), FormatLocalTime(s.time_ns), s.hostname, s.series, tags, paths,
                    FormatBytes(s.stats.bytes)});
  }
  PrintTable(rows);
  printf("%s\n", Count(shown.size(), "snapshot").c_str());
  return Status::OK();
}

struct LsArgs {
  std::string snap;
  std::string path = "/";
  std::string series;
  bool long_format = false;
  bool recursive = true;
  bool no_recursive = false;
};

void PrintLsLine(const std::string& path, const Node& n, bool long_format) {
  if (!long_format) {
    printf("%s\n", path.c_str());
    return;
  }
  std::string user = n.user.empty() ? std::to_string(n.uid) : n.user;
  std::string group = n.group.empty() ? std::to_string(n.gid) : n.group;
  std::string line = FormatMode(n) + " " + user + " " + group + " " +
                     std::to_string(n.size) + " " + FormatLocalTime(n.mtime_ns) + " " + path;
  if (n.type == NodeType::kSymlink) line += " -> " + n.symlink_target;
  printf("%s\n", line.c_str());
}

Status RunLs(Context& ctx, const LsArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  CAIRN_RETURN_IF_ERROR(repo->SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(Snapshot snap, repo->FindSnapshot(a.snap, a.series));
  auto codec = repo->NewCodec();
  CAIRN_ASSIGN_OR_RETURN(std::string base, NormalizeSnapshotPath(a.path));
  CAIRN_ASSIGN_OR_RETURN(Node start, ResolvePath(*repo, *codec, snap, base));
  if (ctx.json) printf("%s\n", DumpJson(SnapshotJson(snap)).c_str());
  auto emit = [&](const std::string& p, const Node& n) {
    if (ctx.json) {
      printf("%s\n", DumpJson(NodeJson(p, n)).c_str());
    } else {
      PrintLsLine(p, n, a.long_format);
    }
  };
  if (start.type != NodeType::kDir) {
    emit(base, start);
    return Status::OK();
  }
  const bool recursive = !a.no_recursive;
  return WalkTree(*repo, *codec, start.subtree, base,
                  [&](const std::string& p, const Node& n) -> Result<bool> {
                    emit(p, n);
                    return recursive;
                  });
}

struct CatArgs {
  std::string snap, path, series;
};

Status RunCat(Context& ctx, const CatArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  CAIRN_RETURN_IF_ERROR(repo->SyncIndex());
  CAIRN_ASSIGN_OR_RETURN(Snapshot snap, repo->FindSnapshot(a.snap, a.series));
  auto codec = repo->NewCodec();
  CAIRN_ASSIGN_OR_RETURN(Node n, ResolvePath(*repo, *codec, snap, a.path));
  if (n.type != NodeType::kFile) {
    return Status::InvalidArgument(a.path + " is a " + std::string(NodeTypeName(n.type)) +
                                   ", not a file");
  }
  Sha256Stream sha;
  static constexpr uint8_t kZeros[64 * 1024] = {};
  auto out = [&](ByteView b) -> Status {
    sha.Update(b);
    while (!b.empty()) {
      ssize_t w = ::write(STDOUT_FILENO, b.data(), b.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(std::string("writing to standard output: ") + strerror(errno));
      }
      b = b.subspan(static_cast<size_t>(w));
    }
    return Status::OK();
  };
  for (const Extent& x : n.content) {
    if (ctx.cancel) return Status::Cancelled("interrupted");
    if (x.hole) {
      for (uint64_t left = x.length; left > 0;) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(left, sizeof(kZeros)));
        CAIRN_RETURN_IF_ERROR(out(ByteView(kZeros, k)));
        left -= k;
      }
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(Bytes plain, repo->LoadBlob(BlobType::kData, x.blob, *codec));
    CAIRN_RETURN_IF_ERROR(out(plain));
  }
  if (sha.Finish() != n.sha256) {
    return Status::Corruption(a.path + ": content does not match the SHA-256 in snapshot " +
                              snap.id.Short() + "; run `cairn check --read-data`");
  }
  return Status::OK();
}

struct StatsArgs {
  std::string snap, series;
};

Status RunStats(Context& ctx, const StatsArgs& a) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  std::vector<Snapshot> snaps;
  if (!a.snap.empty()) {
    CAIRN_RETURN_IF_ERROR(repo->SyncIndex());
    CAIRN_ASSIGN_OR_RETURN(Snapshot s, repo->FindSnapshot(a.snap, a.series));
    snaps.push_back(std::move(s));
  }
  CAIRN_ASSIGN_OR_RETURN(RepoStats st, ComputeStats(*repo, snaps));
  if (ctx.json) {
    nlohmann::json j = {{"snapshots", st.snapshots},
                        {"files", st.files},
                        {"logical_bytes", st.logical_bytes},
                        {"unique_blobs", st.unique_blobs},
                        {"raw_bytes", st.raw_bytes},
                        {"stored_bytes", st.stored_bytes},
                        {"dedup_ratio", st.dedup_ratio()},
                        {"compression_ratio", st.compression_ratio()},
                        {"repository_packs", st.repo_packs},
                        {"repository_pack_bytes", st.repo_pack_bytes},
                        {"repository_blobs", st.repo_blobs}};
    printf("%s\n", DumpJson(j).c_str());
    return Status::OK();
  }
  char ratio[64];
  printf("Snapshots:          %llu\n", static_cast<unsigned long long>(st.snapshots));
  printf("Files:              %llu\n", static_cast<unsigned long long>(st.files));
  printf("Logical size:       %s\n", FormatBytes(st.logical_bytes).c_str());
  printf("Unique data:        %s in %llu blobs\n", FormatBytes(st.raw_bytes).c_str(),
         static_cast<unsigned long long>(st.unique_blobs));
  printf("Stored size:        %s\n", FormatBytes(st.stored_bytes).c_str());
  snprintf(ratio, sizeof(ratio), "%.2fx", st.dedup_ratio());
  printf("Dedup ratio:        %s\n", ratio);
  snprintf(ratio, sizeof(ratio), "%.2fx", st.compression_ratio());
  printf("Compression ratio:  %s\n", ratio);
  printf("Repository:         %s in %llu packs\n", FormatBytes(st.repo_pack_bytes).c_str(),
         static_cast<unsigned long long>(st.repo_packs));
  return Status::OK();
}

}  // namespace

void RegisterSnapshots(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<SnapshotsArgs>();
  auto* cmd = app.add_subcommand("snapshots", "list snapshots");
  cmd->add_option("--series", a.series, "only this series");
  cmd->add_option("--host", a.host, "only this host");
  cmd->add_option("--tag", a.tags, "only snapshots with this tag (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->callback([&] { ctx.run = [&] { return RunSnapshots(ctx, a); }; });
}

void RegisterLs(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<LsArgs>();
  auto* cmd = app.add_subcommand("ls", "list the files of a snapshot");
  cmd->add_option("SNAP", a.snap, "snapshot id prefix or `latest`")->required();
  cmd->add_option("PATH", a.path, "directory or file in the snapshot (default /)");
  cmd->add_option("--series", a.series, "with `latest`: the latest of this series");
  cmd->add_flag("-l,--long", a.long_format, "mode, owner, size and time");
  cmd->add_flag("--no-recursive", a.no_recursive, "only the directory's own entries");
  cmd->callback([&] { ctx.run = [&] { return RunLs(ctx, a); }; });
}

void RegisterCat(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<CatArgs>();
  auto* cmd = app.add_subcommand("cat", "write a file of a snapshot to standard output");
  cmd->add_option("SNAP", a.snap, "snapshot id prefix or `latest`")->required();
  cmd->add_option("PATH", a.path, "file in the snapshot")->required();
  cmd->add_option("--series", a.series, "with `latest`: the latest of this series");
  cmd->callback([&] { ctx.run = [&] { return RunCat(ctx, a); }; });
}

void RegisterStats(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<StatsArgs>();
  auto* cmd = app.add_subcommand("stats", "sizes, deduplication and compression");
  cmd->add_option("SNAP", a.snap, "one snapshot (default: all)");
  cmd->add_option("--series", a.series, "with `latest`: the latest of this series");
  cmd->callback([&] { ctx.run = [&] { return RunStats(ctx, a); }; });
}

}  // namespace cairn
