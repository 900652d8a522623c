// `cairn forget`: which snapshots go, by policy (repo/forget_policy.h) per
// group of snapshots or by id, and removing them. Removing a snapshot deletes
// its snapshot object only; the data it referenced stays until a prune.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/forget_policy.h"
#include "repo/repository.h"

namespace cairn {

// Which snapshots a policy looks at (restic's --host/--tag filters; cairn's
// --series). Empty fields match everything; tags: the snapshot has all.
struct SnapshotFilter {
  std::string host, series;
  std::vector<std::string> tags;
  bool Matches(const Snapshot& s) const;
};

// One group: the snapshots of one host and series. decisions are newest
// first.
struct ForgetGroup {
  std::string host, series;
  std::vector<PolicyDecision> decisions;
  size_t kept() const;
  size_t removed() const;
};

// Groups the snapshots that match filter by (host, series) and applies the
// policy to each group; groups are ordered by host, then series. A snapshot
// whose retain_until lies after now_ns is kept whatever the policy says
// (reason "retained until <time>"). InvalidArgument when the policy would
// remove every snapshot of a group (restic refuses too: only a --keep-tag
// policy can do that; name the snapshots by id to remove them all).
Result<std::vector<ForgetGroup>> PlanForget(const std::vector<Snapshot>& all,
                                            const SnapshotFilter& filter,
                                            const ForgetPolicy& policy, int64_t now_ns);

// The snapshots named by id prefixes (as Repository::FindSnapshot takes
// them), grouped like PlanForget, every decision "remove". NotFound or
// InvalidArgument (ambiguous) naming the prefix; Locked for a snapshot
// retained after now_ns.
Result<std::vector<ForgetGroup>> PlanForgetIds(const std::vector<Snapshot>& all,
                                               const std::vector<std::string>& ids,
                                               int64_t now_ns);

// Deletes the snapshot object of every decision that is not kept, in the
// given order, and drops it from the local cache. Stops at the first error
// (naming the snapshot) or when cancel is set (Cancelled); removed gets one
// call per snapshot deleted.
Status RemoveSnapshots(Repository& repo, const std::vector<ForgetGroup>& groups,
                       const std::atomic<bool>* cancel,
                       const std::function<void(const Snapshot&)>& removed);

}  // namespace cairn
