// cairn check, cairn index rebuild, cairn cache info|clear
#include <sys/stat.h>
#include <cstdio>
#include <filesystem>

#include "cache/cache_db.h"
#include "repo/check.h"
#include "repo/index_rebuild.h"
#include "tools/cli.h"
#include "tools/format.h"

namespace cairn {

namespace {

struct CheckArgs {
  bool read_data = false;
  std::string subset;
};

Status RunCheckCmd(Context& ctx, const CheckArgs& a) {
  CheckOptions o;
  o.read_data = a.read_data || !a.subset.empty();
  if (!a.subset.empty()) {
    std::string s = a.subset;
    if (s.back() == '%') s.pop_back();
    char* end = nullptr;
    double pct = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != 0 || pct <= 0 || pct > 100) {
      return Status::InvalidArgument("--read-data-subset takes a percentage such as 10%");
    }
    o.read_fraction = pct / 100.0;
  }
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  // Pack reads from a remote store wait on the network: one per connection.
  if (const unsigned c = repo->store().Traits().connections; c > 0) o.threads = c;
  ctx.Say("checking structure" + std::string(o.read_data ? " and data" : ""));
  auto r = RunCheck(*repo, o, [&](bool is_error, const std::string& m) {
    // With --json, stdout carries only the JSON object.
    fprintf(is_error || ctx.json ? stderr : stdout, "%s%s\n", is_error ? "error: " : "warning: ",
            m.c_str());
  }, &ctx.cancel);
  if (!r) return r.error();
  if (ctx.json) {
    printf("%s\n", DumpJson({{"snapshots", r->snapshots},
                             {"trees", r->trees},
                             {"data_blobs", r->data_blobs},
                             {"packs", r->packs},
                             {"packs_read", r->packs_read},
                             {"errors", r->errors},
                             {"incomplete_writes", r->incomplete_writes},
                             {"warnings", r->warnings}})
                       .c_str());
  } else {
    ctx.Say(Count(r->snapshots, "snapshot") + ", " + Count(r->trees, "tree") + ", " +
            Count(r->data_blobs, "data blob") + " in " + Count(r->packs, "pack") +
            (o.read_data ? ", " + Count(r->packs_read, "pack") + " read" : ""));
  }
  if (r->errors) {
    return Status::Corruption("check found " + Count(r->errors, "error") + " (listed above)");
  }
  ctx.Say("no errors were found");
  return Status::OK();
}

Status RunIndexRebuild(Context& ctx) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository());
  auto r = RebuildIndex(*repo, [](const std::string& m) { fprintf(stderr, "warning: %s\n", m.c_str()); });
  if (!r) return r.error();
  ctx.Say("indexed " + Count(r->blobs, "blob") + " in " + Count(r->packs, "pack") + ": " +
          Count(r->segments_written, "index segment") + " written, " +
          std::to_string(r->segments_removed) + " removed");
  if (r->incomplete_writes) {
    ctx.Say(Count(r->incomplete_writes, "temporary file") +
            " of an interrupted write reported (listed above; not indexed, not removed)");
  }
  if (r->unreadable_packs) {
    return Status::Corruption(Count(r->unreadable_packs, "pack") +
                              (r->unreadable_packs == 1 ? " has an unreadable header and was"
                                                        : " have unreadable headers and were") +
                              " left out");
  }
  return Status::OK();
}

Status RunCacheInfo(Context& ctx, bool clear) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  const std::string dir = repo->cache().dir();
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    // Allocated bytes, not apparent sizes: the mount's tree cache is a
    // sparse LMDB file as large as its map.
    struct stat st;
    if (it->is_regular_file(ec) && ::stat(it->path().c_str(), &st) == 0) {
      bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  if (clear) {
    repo.reset();  // closes the LMDB environment first
    std::filesystem::remove_all(dir, ec);
    if (ec) return Status::IOError("removing " + dir + ": " + ec.message());
    ctx.Say("removed cache " + dir + " (" + FormatBytes(bytes) + ")");
    return Status::OK();
  }
  if (ctx.json) {
    printf("%s\n", DumpJson({{"dir", dir}, {"bytes", bytes}, {"blobs", repo->cache().BlobCount()}})
                       .c_str());
  } else {
    ctx.Say("cache " + dir + ": " + FormatBytes(bytes) + ", " +
            std::to_string(repo->cache().BlobCount()) + " blobs indexed");
  }
  return Status::OK();
}

}  // namespace

void RegisterCheck(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<CheckArgs>();
  auto* cmd = app.add_subcommand("check", "verify the repository");
  auto* rd = cmd->add_flag("--read-data", a.read_data, "also read and verify every pack");
  cmd->add_option("--read-data-subset", a.subset, "read and verify N% of the packs")
      ->excludes(rd);
  cmd->callback([&] { ctx.run = [&] { return RunCheckCmd(ctx, a); }; });
}

void RegisterIndex(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("index", "maintain the index");
  cmd->require_subcommand(1);
  auto* rebuild = cmd->add_subcommand("rebuild", "rebuild index/ from the pack headers");
  rebuild->callback([&] { ctx.run = [&] { return RunIndexRebuild(ctx); }; });
}

void RegisterCache(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("cache", "the local cache");
  cmd->require_subcommand(1);
  cmd->add_subcommand("info", "where the cache is and its size")->callback([&] {
    ctx.run = [&] { return RunCacheInfo(ctx, false); };
  });
  cmd->add_subcommand("clear", "remove the cache of this repository")->callback([&] {
    ctx.run = [&] { return RunCacheInfo(ctx, true); };
  });
}

}  // namespace cairn
