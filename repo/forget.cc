#include "repo/forget.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/clock.h"
#include "common/hex.h"

namespace cairn {
namespace {

using GroupKey = std::pair<std::string, std::string>;  // host, series

std::vector<ForgetGroup> ToGroups(std::map<GroupKey, std::vector<PolicyDecision>> by_key) {
  std::vector<ForgetGroup> out;
  for (auto& [key, decisions] : by_key) {
    out.push_back({key.first, key.second, std::move(decisions)});
  }
  return out;
}

std::string RetainedReason(const Snapshot& s) {
  return "retained until " + FormatTime(s.retain_until_ns);
}

}  // namespace

bool SnapshotFilter::Matches(const Snapshot& s) const {
  if (!host.empty() && s.hostname != host) return false;
  if (!series.empty() && s.series != series) return false;
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& t) {
    return std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end();
  });
}

size_t ForgetGroup::kept() const {
  return static_cast<size_t>(std::count_if(decisions.begin(), decisions.end(),
                                           [](const PolicyDecision& d) { return d.keep; }));
}

size_t ForgetGroup::removed() const { return decisions.size() - kept(); }

Result<std::vector<ForgetGroup>> PlanForget(const std::vector<Snapshot>& all,
                                            const SnapshotFilter& filter,
                                            const ForgetPolicy& policy, int64_t now_ns) {
  std::map<GroupKey, std::vector<Snapshot>> groups;
  for (const Snapshot& s : all) {
    if (filter.Matches(s)) groups[{s.hostname, s.series}].push_back(s);
  }
  std::map<GroupKey, std::vector<PolicyDecision>> planned;
  for (auto& [key, snaps] : groups) {
    auto decisions = ApplyForgetPolicy(std::move(snaps), policy, now_ns);
    for (PolicyDecision& d : decisions) {
      if (d.snapshot.retain_until_ns > now_ns) {
        d.keep = true;
        d.reasons.push_back(RetainedReason(d.snapshot));
      }
    }
    const bool any_kept = std::any_of(decisions.begin(), decisions.end(),
                                      [](const PolicyDecision& d) { return d.keep; });
    if (!any_kept && !decisions.empty()) {
      return Err(Status::InvalidArgument(
          "refusing to remove " +
          (decisions.size() == 1 ? std::string("the only snapshot")
                                 : "all " + std::to_string(decisions.size()) + " snapshots") +
          " of host " + key.first + ", series " + key.second +
          ": the policy keeps none of them; name them by id to remove them all"));
    }
    planned[key] = std::move(decisions);
  }
  return ToGroups(std::move(planned));
}

Result<std::vector<ForgetGroup>> PlanForgetIds(const std::vector<Snapshot>& all,
                                               const std::vector<std::string>& ids,
                                               int64_t now_ns) {
  std::map<GroupKey, std::vector<PolicyDecision>> planned;
  std::vector<Id> seen;
  for (const std::string& ref : ids) {
    if (ref.size() < 4 || !FromHex(ref.size() % 2 ? ref + "0" : ref)) {
      return Err(Status::InvalidArgument("snapshot \"" + ref +
                                         "\": give at least 4 hex digits of an id"));
    }
    const Snapshot* found = nullptr;
    for (const Snapshot& s : all) {
      if (s.id.Hex().compare(0, ref.size(), ref) != 0) continue;
      if (found) {
        return Err(Status::InvalidArgument("snapshot prefix \"" + ref +
                                           "\" is ambiguous; give more digits"));
      }
      found = &s;
    }
    if (!found) {
      return Err(Status::NotFound("no snapshot with id " + ref +
                                  " (list them with `cairn snapshots`)"));
    }
    if (found->retain_until_ns > now_ns) {
      return Err(Status::Locked("snapshot " + found->id.Short() + " is " +
                                RetainedReason(*found) + " and cannot be forgotten before then"));
    }
    if (std::find(seen.begin(), seen.end(), found->id) != seen.end()) continue;
    seen.push_back(found->id);
    planned[{found->hostname, found->series}].push_back({*found, false, {}});
  }
  for (auto& [key, decisions] : planned) {
    std::sort(decisions.begin(), decisions.end(), [](const auto& a, const auto& b) {
      return a.snapshot.time_ns != b.snapshot.time_ns ? a.snapshot.time_ns > b.snapshot.time_ns
                                                      : b.snapshot.id < a.snapshot.id;
    });
  }
  return ToGroups(std::move(planned));
}

Status RemoveSnapshots(Repository& repo, const std::vector<ForgetGroup>& groups,
                       const std::atomic<bool>* cancel,
                       const std::function<void(const Snapshot&)>& removed) {
  for (const ForgetGroup& g : groups) {
    for (const PolicyDecision& d : g.decisions) {
      if (d.keep) continue;
      if (cancel != nullptr && cancel->load()) {
        return Status::Cancelled("interrupted; the snapshots listed as removed are gone, the "
                                 "others remain");
      }
      Status s = repo.store().Delete(SnapshotKey(d.snapshot.id));
      if (!s.ok()) return s.WithContext("removing snapshot " + d.snapshot.id.Short());
      // The next listing would drop it from the cache too; dropping it now
      // keeps a failure to do so from mattering.
      Status c = repo.cache().DeleteSnapshot(d.snapshot.id);
      if (!c.ok()) repo.logger().Warn("{}", c.message());
      removed(d.snapshot);
    }
  }
  return Status::OK();
}

}  // namespace cairn
