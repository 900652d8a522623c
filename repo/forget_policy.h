// The retention policy of `cairn forget`: which snapshots of a group to keep,
// by restic's rules (restic internal/restic/snapshot_policy.go, restic 0.17
// semantics, documented in man/cairn-forget.1):
//
// - Snapshots are taken newest first. Each --keep-{last,hourly,daily,weekly,
//   monthly,yearly} N is a bucket: a snapshot is kept by it when its calendar
//   period (hour, day, ISO week Monday..Sunday, month, year, in local time;
//   for --keep-last, every snapshot is its own period) differs from that of
//   the previous snapshot the bucket kept, while the bucket still has counts
//   left. So each bucket keeps the newest snapshot of each of the N newest
//   periods that have any snapshot. kUnlimited keeps one per period forever.
// - When a bucket still has counts left at the oldest snapshot of the group,
//   that snapshot is kept too ("oldest daily snapshot"), so the history kept
//   is as long as possible.
// - --keep-within DURATION keeps every snapshot strictly newer than the
//   newest snapshot's time (ignoring snapshots in the future of `now`) minus
//   DURATION, counted in calendar years, months, days and then hours.
// - --keep-tag LIST keeps every snapshot having all tags of LIST ("a,b"); the
//   empty list "" matches snapshots without tags. Not counted.
// - A snapshot is kept when any rule keeps it; the reasons are all the rules
//   that kept it. An empty policy keeps everything.
//
// Pure functions of their inputs and the process's time zone (TZ): no store,
// no clock (now is a parameter), so tests run them on fixed times.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "repo/snapshot.h"

namespace cairn {

// A calendar duration for --keep-within: "1y5m7d2h" (years, months, days,
// hours; each part optional, in that order or any order, at least one).
struct KeepDuration {
  int years = 0, months = 0, days = 0, hours = 0;
  bool zero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  std::string ToString() const;  // "1y5m7d2h" without the zero parts; "0h" when zero
  // t_ns moved back by this duration in local time (calendar arithmetic like
  // Go's AddDate: 31 March minus one month is 3 March, normalised).
  int64_t Before(int64_t t_ns) const;
};
// InvalidArgument naming the text and the expected form.
Result<KeepDuration> ParseKeepDuration(std::string_view text);

struct ForgetPolicy {
  static constexpr int kUnlimited = -1;
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  KeepDuration within;
  // Each element is one --keep-tag: a snapshot having every tag of one list
  // is kept.
  std::vector<std::vector<std::string>> tags;

  bool empty() const;
  // "keep 7 daily, 4 weekly snapshots and all snapshots within 2d of the newest"
  std::string Describe() const;
};
// "unlimited" or a count >= 0 for --keep-hourly and the others.
Result<int> ParseKeepCount(std::string_view option, std::string_view text);
// One --keep-tag value: "a,b" is {"a","b"}; "" is {""} (untagged only).
std::vector<std::string> ParseTagList(std::string_view text);

struct PolicyDecision {
  Snapshot snapshot;
  bool keep = false;
  std::vector<std::string> reasons;  // why it is kept, e.g. "daily snapshot"
};

// Applies p to one group of snapshots (any order). Returns one decision per
// snapshot, newest first (equal times: larger id first). now_ns is the
// current time: snapshots after it do not count as the newest for
// --keep-within.
std::vector<PolicyDecision> ApplyForgetPolicy(std::vector<Snapshot> group, const ForgetPolicy& p,
                                              int64_t now_ns);

}  // namespace cairn
