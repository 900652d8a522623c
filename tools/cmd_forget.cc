// cairn forget: removes snapshots by policy or by id (repo/forget.h).
#include <cstdio>

#include "common/clock.h"
#include "repo/forget.h"
#include "tools/cli.h"
#include "tools/format.h"

namespace cairn {

namespace {

struct ForgetArgs {
  std::vector<std::string> ids;
  std::string last, hourly, daily, weekly, monthly, yearly;  // counts or "unlimited"
  std::string within;
  std::vector<std::string> keep_tags;
  std::string host, series;
  std::vector<std::string> tags;
  bool dry_run = false;
  bool prune = false;
};

Result<ForgetPolicy> PolicyFrom(const ForgetArgs& a) {
  ForgetPolicy p;
  const std::pair<const std::string&, int&> counts[] = {
      {a.last, p.last},     {a.hourly, p.hourly},   {a.daily, p.daily},
      {a.weekly, p.weekly}, {a.monthly, p.monthly}, {a.yearly, p.yearly}};
  const char* names[] = {"--keep-last",   "--keep-hourly",  "--keep-daily",
                         "--keep-weekly", "--keep-monthly", "--keep-yearly"};
  for (size_t i = 0; i < std::size(counts); ++i) {
    if (counts[i].first.empty()) continue;
    CAIRN_ASSIGN_OR_RETURN(counts[i].second, ParseKeepCount(names[i], counts[i].first));
  }
  if (!a.within.empty()) {
    auto d = ParseKeepDuration(a.within);
    if (!d) return Err(d.error().WithContext("--keep-within"));
    p.within = *d;
  }
  for (const auto& t : a.keep_tags) p.tags.push_back(ParseTagList(t));
  return p;
}


std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void PrintGroup(const ForgetGroup& g, bool by_policy) {
  printf("snapshots of host %s, series %s\n", g.host.c_str(), g.series.c_str());
  if (by_policy) {
    std::vector<std::vector<std::string>> keep{{"ID", "Time", "Tags", "Reasons"}};
    for (const auto& d : g.decisions) {
      if (!d.keep) continue;
      keep.push_back({d.snapshot.id.Short(), FormatLocalTime(d.snapshot.time_ns),
                      Join(d.snapshot.tags, ","), Join(d.reasons, ", ")});
    }
    printf("keep %s:\n", Count(keep.size() - 1, "snapshot").c_str());
    if (keep.size() > 1) PrintTable(keep);
  }
  std::vector<std::vector<std::string>> remove{{"ID", "Time", "Tags"}};
  for (const auto& d : g.decisions) {
    if (d.keep) continue;
    remove.push_back({d.snapshot.id.Short(), FormatLocalTime(d.snapshot.time_ns),
                      Join(d.snapshot.tags, ",")});
  }
  printf("remove %s:\n", Count(remove.size() - 1, "snapshot").c_str());
  if (remove.size() > 1) PrintTable(remove);
  printf("\n");
}

nlohmann::json GroupJson(const ForgetGroup& g) {
  nlohmann::json keep = nlohmann::json::array(), remove = nlohmann::json::array();
  for (const auto& d : g.decisions) {
    nlohmann::json j = SnapshotJson(d.snapshot);
    if (d.keep) {
      j["reasons"] = d.reasons;
      keep.push_back(std::move(j));
    } else {
      remove.push_back(std::move(j));
    }
  }
  return {{"host", g.host}, {"series", g.series}, {"keep", keep}, {"remove", remove}};
}

Status RunForget(Context& ctx, const ForgetArgs& a) {
  if (a.prune) {
    // Refused before anything is removed, so a script written for a later
    // cairn never half-runs.
    return Status::Unsupported(
        "--prune: prune is not implemented yet; run `cairn forget` without --prune (the data "
        "of forgotten snapshots stays in the repository until prune exists)");
  }
  CAIRN_ASSIGN_OR_RETURN(ForgetPolicy policy, PolicyFrom(a));
  const bool by_policy = a.ids.empty();
  if (!by_policy && !policy.empty()) {
    return Status::InvalidArgument(
        "give either snapshot ids or --keep-* options, not both (nothing was removed)");
  }
  if (by_policy && policy.empty()) {
    return Status::InvalidArgument(
        "no policy and no snapshot ids given, so nothing would be removed: use --keep-last, "
        "--keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, "
        "--keep-within or --keep-tag, or name snapshots by id");
  }
  if (!by_policy && (!a.host.empty() || !a.series.empty() || !a.tags.empty())) {
    return Status::InvalidArgument("--host, --series and --tag select snapshots for a policy; "
                                   "with snapshot ids, give only the ids");
  }
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(a.dry_run));
  CAIRN_ASSIGN_OR_RETURN(auto all, repo->ListSnapshots());
  const int64_t now = NowNs();
  std::vector<ForgetGroup> groups;
  if (by_policy) {
    SnapshotFilter f{a.host, a.series, a.tags};
    CAIRN_ASSIGN_OR_RETURN(groups, PlanForget(all, f, policy, now));
  } else {
    CAIRN_ASSIGN_OR_RETURN(groups, PlanForgetIds(all, a.ids, now));
  }
  size_t to_remove = 0;
  for (const auto& g : groups) to_remove += g.removed();

  if (ctx.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& g : groups) arr.push_back(GroupJson(g));
    printf("%s\n", DumpJson(arr).c_str());
  } else if (!ctx.quiet) {
    if (by_policy) printf("Applying policy: %s\n\n", policy.Describe().c_str());
    for (const auto& g : groups) PrintGroup(g, by_policy);
    if (groups.empty()) printf("no snapshots match\n");
  }
  if (a.dry_run) {
    ctx.Say("would remove " + Count(to_remove, "snapshot") + " (dry run: nothing was removed)");
    return Status::OK();
  }
  size_t removed = 0;
  Status s = RemoveSnapshots(*repo, groups, &ctx.cancel, [&](const Snapshot&) { ++removed; });
  fflush(stdout);
  if (!s.ok()) {
    return s.WithContext("removed " + std::to_string(removed) + " of " + Count(to_remove, "snapshot"));
  }
  ctx.Say("removed " + Count(removed, "snapshot") +
          (removed ? "; their data stays in the repository until prune exists" : ""));
  return Status::OK();
}

}  // namespace

void RegisterForget(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<ForgetArgs>();
  auto* cmd = app.add_subcommand("forget", "remove snapshots by policy or by id");
  cmd->add_option("ID", a.ids, "snapshots to remove (id prefixes of at least 4 hex digits)");
  cmd->add_option("-l,--keep-last", a.last, "keep the N newest snapshots (or `unlimited`)");
  cmd->add_option("-H,--keep-hourly", a.hourly, "keep the newest snapshot of each of the N newest hours");
  cmd->add_option("-d,--keep-daily", a.daily, "keep the newest snapshot of each of the N newest days");
  cmd->add_option("-w,--keep-weekly", a.weekly,
                  "keep the newest snapshot of each of the N newest weeks (Monday to Sunday)");
  cmd->add_option("-m,--keep-monthly", a.monthly,
                  "keep the newest snapshot of each of the N newest months");
  cmd->add_option("-y,--keep-yearly", a.yearly,
                  "keep the newest snapshot of each of the N newest years");
  cmd->add_option("--keep-within", a.within,
                  "keep snapshots newer than DURATION (e.g. 1y5m7d2h) before the newest snapshot");
  cmd->add_option("--keep-tag", a.keep_tags,
                  "keep snapshots with all of these tags, e.g. a,b (repeatable; '' = untagged)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--host", a.host, "only snapshots of this host");
  cmd->add_option("--series", a.series, "only snapshots of this series");
  cmd->add_option("--tag", a.tags, "only snapshots with this tag (repeatable: all of them)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-n,--dry-run", a.dry_run, "show what would be removed and why the rest is kept");
  cmd->add_flag("--prune", a.prune, "also remove unreferenced data (not implemented yet)");
  cmd->callback([&] { ctx.run = [&] { return RunForget(ctx, a); }; });
}

}  // namespace cairn
