// The forget policy on fixed clocks: restic's documented examples
// (doc/060_forget.rst) as table cases, the calendar edges (ISO weeks across
// a year end, local time, month arithmetic), the "oldest" rule, tags,
// --keep-within, and the parsers.
#include "repo/forget_policy.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <ctime>
#include <map>
#include <set>

#include "common/clock.h"

namespace cairn {
namespace {

// Runs each test in a fixed time zone and restores the process's after.
class ForgetPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    had_tz_ = tz != nullptr;
    if (had_tz_) old_tz_ = tz;
    SetZone("UTC0");
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", old_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  static void SetZone(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }

  bool had_tz_ = false;
  std::string old_tz_;
};

// "2019-09-01 11:00" in the current zone.
int64_t At(const std::string& text) {
  std::tm tm{};
  EXPECT_NE(strptime(text.c_str(), "%Y-%m-%d %H:%M", &tm), nullptr) << text;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&tm)) * kNsPerSecond;
}

std::string Show(int64_t ns) {
  time_t t = static_cast<time_t>(ns / kNsPerSecond);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return buf;
}

Snapshot Snap(const std::string& when, std::vector<std::string> tags = {}) {
  Snapshot s;
  s.time_ns = At(when);
  s.tags = std::move(tags);
  // Distinct ids in time order, so ties and order are deterministic.
  Bytes b(32, 0);
  for (int i = 0; i < 8; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(s.time_ns >> (56 - 8 * i));
  s.id = Id::FromView(ByteView(b.data(), b.size()));
  s.hostname = "mopped";
  s.series = "mopped:/home/user/work";
  return s;
}

std::vector<Snapshot> Snaps(const std::vector<std::string>& times) {
  std::vector<Snapshot> out;
  for (const auto& t : times) out.push_back(Snap(t));
  return out;
}

// The kept snapshots' times, oldest first, for readable failures.
std::vector<std::string> Kept(const std::vector<PolicyDecision>& ds) {
  std::vector<std::string> out;
  for (auto it = ds.rbegin(); it != ds.rend(); ++it) {
    if (it->keep) out.push_back(Show(it->snapshot.time_ns));
  }
  return out;
}

std::map<std::string, std::vector<std::string>> Reasons(const std::vector<PolicyDecision>& ds) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& d : ds) {
    if (d.keep) out[Show(d.snapshot.time_ns)] = d.reasons;
  }
  return out;
}

const int64_t kNow = 4102444800LL * kNsPerSecond;  // 2100-01-01: every snapshot is in the past

// restic doc/060_forget.rst: one backup every Sunday for 12 weeks.
const std::vector<std::string> kTwelveSundays = {
    "2019-09-01 11:00", "2019-09-08 11:00", "2019-09-15 11:00", "2019-09-22 11:00",
    "2019-09-29 11:00", "2019-10-06 11:00", "2019-10-13 11:00", "2019-10-20 11:00",
    "2019-10-27 11:00", "2019-11-03 11:00", "2019-11-10 11:00", "2019-11-17 11:00"};

struct Case {
  const char* name;
  std::vector<std::string> times;
  ForgetPolicy policy;
  std::vector<std::string> kept;  // oldest first
};

ForgetPolicy Daily(int n) {
  ForgetPolicy p;
  p.daily = n;
  return p;
}

TEST_F(ForgetPolicyTest, Table) {
  ForgetPolicy last3;
  last3.last = 3;
  ForgetPolicy weekly2;
  weekly2.weekly = 2;
  ForgetPolicy monthly2;
  monthly2.monthly = 2;
  ForgetPolicy yearly1;
  yearly1.yearly = 1;
  ForgetPolicy hourly2;
  hourly2.hourly = 2;
  ForgetPolicy all_daily;
  all_daily.daily = ForgetPolicy::kUnlimited;
  ForgetPolicy last1_monthly1;
  last1_monthly1.last = 1;
  last1_monthly1.monthly = 1;
  const std::vector<Case> cases = {
      // restic's documentation: --keep-daily 4 keeps the last four Sundays.
      {"restic doc: --keep-daily 4 on 12 Sundays", kTwelveSundays, Daily(4),
       {"2019-10-27 11:00", "2019-11-03 11:00", "2019-11-10 11:00", "2019-11-17 11:00"}},
      {"--keep-last 3", kTwelveSundays, last3,
       {"2019-11-03 11:00", "2019-11-10 11:00", "2019-11-17 11:00"}},
      // Only periods holding a snapshot count, and the newest of each wins.
      {"--keep-daily 2: newest per day, empty days not counted",
       {"2020-03-01 08:00", "2020-03-01 20:00", "2020-03-05 07:00", "2020-03-05 09:00"}, Daily(2),
       {"2020-03-01 20:00", "2020-03-05 09:00"}},
      {"--keep-hourly 2", {"2020-03-01 08:10", "2020-03-01 08:50", "2020-03-01 09:05",
                           "2020-03-01 09:55", "2020-03-01 11:00"},
       hourly2, {"2020-03-01 09:55", "2020-03-01 11:00"}},
      // Weeks run Monday to Sunday: Sunday 8 March and Monday 9 March differ.
      {"--keep-weekly 2: Sunday ends a week",
       {"2020-03-07 10:00", "2020-03-08 10:00", "2020-03-09 10:00", "2020-03-10 10:00"}, weekly2,
       {"2020-03-08 10:00", "2020-03-10 10:00"}},
      // ISO week 53 of 2020 runs from 28 Dec 2020 to 3 Jan 2021: one bucket.
      {"--keep-weekly 2: ISO week across the year end",
       {"2020-12-27 10:00", "2020-12-31 10:00", "2021-01-03 10:00", "2021-01-04 10:00"}, weekly2,
       {"2021-01-03 10:00", "2021-01-04 10:00"}},
      {"--keep-monthly 2", {"2020-01-15 10:00", "2020-01-31 23:00", "2020-02-01 00:30",
                            "2020-02-29 10:00", "2020-03-01 10:00"},
       monthly2, {"2020-02-29 10:00", "2020-03-01 10:00"}},
      {"--keep-yearly 1", {"2019-12-31 23:59", "2020-01-01 00:01", "2020-06-01 00:00"}, yearly1,
       {"2020-06-01 00:00"}},
      // Counts left at the oldest snapshot: it is kept too, even in a day
      // already kept (restic 0.17: "oldest daily snapshot").
      {"--keep-daily 10 with fewer days keeps the oldest",
       {"2020-03-01 08:00", "2020-03-01 20:00", "2020-03-02 07:00"}, Daily(10),
       {"2020-03-01 08:00", "2020-03-01 20:00", "2020-03-02 07:00"}},
      {"--keep-daily unlimited: one per day forever",
       {"2020-03-01 08:00", "2020-03-01 20:00", "2020-03-02 07:00", "2020-03-02 09:00"}, all_daily,
       {"2020-03-01 08:00", "2020-03-01 20:00", "2020-03-02 09:00"}},
      // Rules are ORed: the newest is both the last and March's monthly,
      // which uses up both counts before the oldest.
      {"--keep-last 1 --keep-monthly 1", {"2020-02-10 10:00", "2020-02-20 10:00",
                                          "2020-03-05 10:00", "2020-03-06 10:00"},
       last1_monthly1, {"2020-03-06 10:00"}},
  };
  for (const Case& c : cases) {
    auto ds = ApplyForgetPolicy(Snaps(c.times), c.policy, kNow);
    EXPECT_EQ(Kept(ds), c.kept) << c.name;
    EXPECT_EQ(ds.size(), c.times.size()) << c.name;
  }
}

TEST_F(ForgetPolicyTest, DecisionsAreNewestFirstWithReasons) {
  ForgetPolicy p;
  p.last = 1;
  p.daily = 2;
  auto ds = ApplyForgetPolicy(Snaps(kTwelveSundays), p, kNow);
  ASSERT_EQ(ds.size(), 12u);
  for (size_t i = 1; i < ds.size(); ++i) EXPECT_GT(ds[i - 1].snapshot.time_ns, ds[i].snapshot.time_ns);
  auto r = Reasons(ds);
  EXPECT_EQ(r["2019-11-17 11:00"], (std::vector<std::string>{"last snapshot", "daily snapshot"}));
  EXPECT_EQ(r["2019-11-10 11:00"], (std::vector<std::string>{"daily snapshot"}));
  EXPECT_EQ(r.size(), 2u);
  for (const auto& d : ds) {
    if (!d.keep) {
      EXPECT_TRUE(d.reasons.empty());
    }
  }
}

TEST_F(ForgetPolicyTest, OldestIsLabelled) {
  auto ds = ApplyForgetPolicy(Snaps({"2020-03-01 08:00", "2020-03-01 20:00"}), Daily(5), kNow);
  auto r = Reasons(ds);
  EXPECT_EQ(r["2020-03-01 20:00"], (std::vector<std::string>{"daily snapshot"}));
  EXPECT_EQ(r["2020-03-01 08:00"], (std::vector<std::string>{"oldest daily snapshot"}));
}

// restic doc: "one backup every day for 100 years ... --keep-daily 7
// --keep-weekly 5 --keep-monthly 12 --keep-yearly 75": 7 dailies, 4 more
// weeklies (the dailies hold one), 11 more monthlies, and 75 yearlies of
// which 2 are kept already (2019's newest and 31 Dec 2018).
TEST_F(ForgetPolicyTest, ResticDocHundredYearsOfDailies) {
  std::vector<Snapshot> snaps;
  const int64_t last = At("2019-11-17 11:00");  // a Sunday
  for (int64_t day = 0; day < 36525; ++day) {
    Snapshot s = Snap("2019-11-17 11:00");
    s.time_ns = last - day * 86400 * kNsPerSecond;
    Bytes b(32, 0);
    for (int i = 0; i < 8; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(day >> (56 - 8 * i));
    s.id = Id::FromView(ByteView(b.data(), b.size()));
    snaps.push_back(s);
  }
  ForgetPolicy p;
  p.daily = 7;
  p.weekly = 5;
  p.monthly = 12;
  p.yearly = 75;
  auto ds = ApplyForgetPolicy(snaps, p, kNow);
  auto kept = Kept(ds);
  EXPECT_EQ(kept.size(), 7u + 4 + 11 + 73);
  std::set<std::string> k(kept.begin(), kept.end());
  for (const char* want : {"2019-11-11 11:00", "2019-11-17 11:00", "2019-11-10 11:00",
                           "2019-10-20 11:00", "2019-10-31 11:00", "2018-12-31 11:00",
                           "2019-01-31 11:00", "1945-12-31 11:00"}) {
    EXPECT_TRUE(k.count(want)) << want;
  }
  EXPECT_FALSE(k.count("2019-11-10 10:00"));
  EXPECT_FALSE(k.count("1944-12-31 11:00"));
  EXPECT_FALSE(k.count("2019-10-13 11:00"));  // the sixth week back
  EXPECT_FALSE(k.count("2018-11-30 11:00"));  // the thirteenth month back
}

// Calendar periods are those of local time, not UTC.
TEST_F(ForgetPolicyTest, BucketsUseLocalTime) {
  SetZone("CET-1CEST,M3.5.0,M10.5.0/3");
  // Berlin: A on 1 March, B and C on 2 March. UTC: A and B on 1 March
  // (22:50, 23:10), C on 2 March.
  std::vector<Snapshot> snaps = Snaps({"2020-03-01 23:50", "2020-03-02 00:10",
                                       "2020-03-02 12:00"});
  const int64_t a = snaps[0].time_ns, b = snaps[1].time_ns, c = snaps[2].time_ns;
  auto kept_times = [&] {
    std::set<int64_t> out;
    for (const auto& d : ApplyForgetPolicy(snaps, Daily(2), kNow)) {
      if (d.keep) out.insert(d.snapshot.time_ns);
    }
    return out;
  };
  EXPECT_EQ(kept_times(), (std::set<int64_t>{a, c}));
  SetZone("UTC0");
  EXPECT_EQ(kept_times(), (std::set<int64_t>{b, c}));
}

TEST_F(ForgetPolicyTest, KeepWithinIsRelativeToTheNewestSnapshot) {
  ForgetPolicy p;
  p.within = *ParseKeepDuration("2d");
  // Years after the snapshots: "now" does not matter, the newest does.
  auto ds = ApplyForgetPolicy(Snaps({"2020-03-01 09:59", "2020-03-01 10:00", "2020-03-01 10:01",
                                     "2020-03-03 10:00"}),
                              p, kNow);
  // Strictly newer than newest - 2d: exactly 2 days before is removed.
  EXPECT_EQ(Kept(ds), (std::vector<std::string>{"2020-03-01 10:01", "2020-03-03 10:00"}));
  EXPECT_EQ(Reasons(ds)["2020-03-03 10:00"], (std::vector<std::string>{"within 2d"}));
}

TEST_F(ForgetPolicyTest, KeepWithinIgnoresFutureSnapshotsForTheNewest) {
  ForgetPolicy p;
  p.within = *ParseKeepDuration("1d");
  const int64_t now = At("2020-03-10 12:00");
  auto ds = ApplyForgetPolicy(
      Snaps({"2020-03-08 12:00", "2020-03-09 13:00", "2020-03-10 11:00", "2030-01-01 00:00"}), p,
      now);
  // The newest past snapshot is 10 March 11:00; the future one is kept.
  EXPECT_EQ(Kept(ds), (std::vector<std::string>{"2020-03-09 13:00", "2020-03-10 11:00",
                                                "2030-01-01 00:00"}));
}

TEST_F(ForgetPolicyTest, KeepWithinCountsCalendarMonthsAndYears) {
  ForgetPolicy p;
  p.within = *ParseKeepDuration("1m");
  // 31 March minus one month is "31 February", normalised to 2 March in
  // 2020 (a leap year), as Go's AddDate does.
  auto ds = ApplyForgetPolicy(Snaps({"2020-03-02 10:00", "2020-03-02 10:01", "2020-03-31 10:00"}),
                              p, kNow);
  EXPECT_EQ(Kept(ds), (std::vector<std::string>{"2020-03-02 10:01", "2020-03-31 10:00"}));
  p.within = *ParseKeepDuration("1y1d2h");
  ds = ApplyForgetPolicy(Snaps({"2019-03-30 07:59", "2019-03-30 08:01", "2020-03-31 10:00"}), p,
                         kNow);
  EXPECT_EQ(Kept(ds), (std::vector<std::string>{"2019-03-30 08:01", "2020-03-31 10:00"}));
}

TEST_F(ForgetPolicyTest, KeepTag) {
  ForgetPolicy p;
  p.tags = {ParseTagList("a,b"), ParseTagList("keep")};
  std::vector<Snapshot> snaps = {Snap("2020-01-01 10:00", {"a"}), Snap("2020-01-02 10:00", {"a", "b"}),
                                 Snap("2020-01-03 10:00", {"keep", "x"}),
                                 Snap("2020-01-04 10:00", {}), Snap("2020-01-05 10:00", {"b"})};
  auto ds = ApplyForgetPolicy(snaps, p, kNow);
  EXPECT_EQ(Kept(ds), (std::vector<std::string>{"2020-01-02 10:00", "2020-01-03 10:00"}));
  EXPECT_EQ(Reasons(ds)["2020-01-02 10:00"], (std::vector<std::string>{"has tags a,b"}));
  // --keep-tag '' keeps untagged snapshots only.
  p.tags = {ParseTagList("")};
  EXPECT_EQ(Kept(ApplyForgetPolicy(snaps, p, kNow)),
            (std::vector<std::string>{"2020-01-04 10:00"}));
}

TEST_F(ForgetPolicyTest, EmptyPolicyKeepsEverything) {
  ForgetPolicy p;
  EXPECT_TRUE(p.empty());
  auto ds = ApplyForgetPolicy(Snaps(kTwelveSundays), p, kNow);
  EXPECT_EQ(Kept(ds).size(), 12u);
  EXPECT_EQ(ds[0].reasons, (std::vector<std::string>{"policy is empty"}));
  EXPECT_TRUE(ApplyForgetPolicy({}, Daily(3), kNow).empty());
}

TEST_F(ForgetPolicyTest, ParseKeepDuration) {
  struct {
    const char* text;
    bool ok;
    KeepDuration want;
  } cases[] = {
      {"1y5m7d2h", true, {1, 5, 7, 2}}, {"7d", true, {0, 0, 7, 0}}, {"2h", true, {0, 0, 0, 2}},
      {"3m", true, {0, 3, 0, 0}},       {"1d12h", true, {0, 0, 1, 12}},
      {"1w", false, {}},                {"", false, {}},          {"5", false, {}},
      {"d", false, {}},                 {"-1d", false, {}},       {"1.5d", false, {}},
  };
  for (const auto& c : cases) {
    auto d = ParseKeepDuration(c.text);
    ASSERT_EQ(d.has_value(), c.ok) << c.text;
    if (!c.ok) {
      EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(d.error().message().find("1y6m, 7d or 2d12h"), std::string::npos);
      continue;
    }
    EXPECT_EQ(d->years, c.want.years) << c.text;
    EXPECT_EQ(d->months, c.want.months) << c.text;
    EXPECT_EQ(d->days, c.want.days) << c.text;
    EXPECT_EQ(d->hours, c.want.hours) << c.text;
    EXPECT_EQ(d->ToString(), c.text);
  }
}

TEST_F(ForgetPolicyTest, ParseKeepCountAndTags) {
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "7"), 7);
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "0"), 0);
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "unlimited"), ForgetPolicy::kUnlimited);
  for (const char* bad : {"", "-1", "x", "99999999999"}) {
    auto r = ParseKeepCount("--keep-daily", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(),
              "--keep-daily " + std::string(bad) + ": give a number of snapshots or `unlimited`");
  }
  EXPECT_EQ(ParseTagList("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ParseTagList(""), (std::vector<std::string>{""}));
}

TEST_F(ForgetPolicyTest, Describe) {
  ForgetPolicy p;
  EXPECT_EQ(p.Describe(), "keep everything (empty policy)");
  p.daily = 7;
  p.weekly = 4;
  p.yearly = ForgetPolicy::kUnlimited;
  EXPECT_EQ(p.Describe(), "keep 7 daily, 4 weekly, all yearly snapshots");
  p.tags = {{"a", "b"}};
  p.within = *ParseKeepDuration("2d");
  EXPECT_EQ(p.Describe(),
            "keep 7 daily, 4 weekly, all yearly snapshots and all snapshots tagged a,b and all "
            "snapshots within 2d of the newest");
}

}  // namespace
}  // namespace cairn
