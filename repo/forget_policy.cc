#include "repo/forget_policy.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <ctime>

#include "common/clock.h"

namespace cairn {
namespace {

std::tm LocalTm(int64_t ns) {
  // Floor division: a time before 1970 belongs to the second that began
  // before it.
  int64_t sec = ns / kNsPerSecond;
  if (ns % kNsPerSecond < 0) --sec;
  time_t t = static_cast<time_t>(sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

// Calendar periods as integers, as restic numbers them: YYYYMMDDHH,
// YYYYMMDD, ISO year*100+week, YYYYMM, YYYY.
int64_t HourOf(const std::tm& t) {
  return (t.tm_year + 1900LL) * 1000000 + (t.tm_mon + 1) * 10000 + t.tm_mday * 100 + t.tm_hour;
}
int64_t DayOf(const std::tm& t) {
  return (t.tm_year + 1900LL) * 10000 + (t.tm_mon + 1) * 100 + t.tm_mday;
}
int64_t IsoWeekOf(const std::tm& t) {
  // ISO 8601: weeks start on Monday; week 1 holds the year's first
  // Thursday, so the week's year is the year of its Thursday.
  const int monday_based = (t.tm_wday + 6) % 7;  // Monday 0 .. Sunday 6
  int year = t.tm_year + 1900;
  int thursday_yday = t.tm_yday - monday_based + 3;
  auto days_in = [](int y) { return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365; };
  if (thursday_yday < 0) {
    --year;
    thursday_yday += days_in(year);
  } else if (thursday_yday >= days_in(year)) {
    thursday_yday -= days_in(year);
    ++year;
  }
  return year * 100LL + thursday_yday / 7 + 1;
}
int64_t MonthOf(const std::tm& t) { return (t.tm_year + 1900LL) * 100 + (t.tm_mon + 1); }
int64_t YearOf(const std::tm& t) { return t.tm_year + 1900LL; }

bool HasTags(const Snapshot& s, const std::vector<std::string>& list) {
  for (const std::string& tag : list) {
    if (tag.empty() && s.tags.empty()) return true;  // "" matches untagged snapshots
    if (std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) return false;
  }
  return true;
}

std::string JoinTags(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& t : list) out += (out.empty() ? "" : ",") + t;
  return out.empty() ? "''" : out;
}

}  // namespace

std::string KeepDuration::ToString() const {
  std::string s;
  if (years) s += std::to_string(years) + "y";
  if (months) s += std::to_string(months) + "m";
  if (days) s += std::to_string(days) + "d";
  if (hours) s += std::to_string(hours) + "h";
  return s.empty() ? "0h" : s;
}

int64_t KeepDuration::Before(int64_t t_ns) const {
  int64_t sec = t_ns / kNsPerSecond;
  int64_t frac = t_ns % kNsPerSecond;
  if (frac < 0) {
    frac += kNsPerSecond;
    --sec;
  }
  time_t t = static_cast<time_t>(sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_year -= years;
  tm.tm_mon -= months;
  tm.tm_mday -= days;
  tm.tm_isdst = -1;  // the offset in force at the new date
  const time_t moved = mktime(&tm);
  return (static_cast<int64_t>(moved) - int64_t{hours} * 3600) * kNsPerSecond + frac;
}

Result<KeepDuration> ParseKeepDuration(std::string_view text) {
  auto bad = [&] {
    return Err(Status::InvalidArgument("invalid duration \"" + std::string(text) +
                                       "\": give numbers of years, months, days and hours such "
                                       "as 1y6m, 7d or 2d12h (y, m, d, h)"));
  };
  KeepDuration d;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    int64_t n = 0;
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1000000) return bad();
      ++i;
    }
    if (i == start || i == text.size()) return bad();
    switch (text[i]) {
      case 'y': d.years = static_cast<int>(n); break;
      case 'm': d.months = static_cast<int>(n); break;
      case 'd': d.days = static_cast<int>(n); break;
      case 'h': d.hours = static_cast<int>(n); break;
      default: return bad();
    }
    ++i;
    any = true;
  }
  if (!any) return bad();
  return d;
}

Result<int> ParseKeepCount(std::string_view option, std::string_view text) {
  if (text == "unlimited") return ForgetPolicy::kUnlimited;
  int64_t n = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || (n = n * 10 + (c - '0')) > INT_MAX) {
      n = -1;
      break;
    }
  }
  if (text.empty() || n < 0) {
    return Err(Status::InvalidArgument(std::string(option) + " " + std::string(text) +
                                       ": give a number of snapshots or `unlimited`"));
  }
  return static_cast<int>(n);
}

std::vector<std::string> ParseTagList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.emplace_back(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool ForgetPolicy::empty() const {
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
         within.zero() && tags.empty();
}

std::string ForgetPolicy::Describe() const {
  std::string counts;
  const std::pair<int, const char*> items[] = {{last, "latest"},   {hourly, "hourly"},
                                               {daily, "daily"},   {weekly, "weekly"},
                                               {monthly, "monthly"}, {yearly, "yearly"}};
  for (const auto& [n, what] : items) {
    if (n == 0) continue;
    counts += (counts.empty() ? "" : ", ") +
              (n == kUnlimited ? std::string("all ") : std::to_string(n) + " ") + what;
  }
  const bool one = std::count_if(std::begin(items), std::end(items),
                                 [](const auto& it) { return it.first != 0; }) == 1 &&
                   (last + hourly + daily + weekly + monthly + yearly) == 1;
  std::string s = counts.empty() ? "" : counts + (one ? " snapshot" : " snapshots");
  if (!tags.empty()) {
    std::string lists;
    for (const auto& l : tags) lists += (lists.empty() ? "" : " or ") + JoinTags(l);
    s += (s.empty() ? "" : " and ") + std::string("all snapshots tagged ") + lists;
  }
  if (!within.zero()) {
    s += (s.empty() ? "" : " and ") + std::string("all snapshots within ") + within.ToString() +
         " of the newest";
  }
  return s.empty() ? "keep everything (empty policy)" : "keep " + s;
}

std::vector<PolicyDecision> ApplyForgetPolicy(std::vector<Snapshot> group, const ForgetPolicy& p,
                                              int64_t now_ns) {
  std::sort(group.begin(), group.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : b.id < a.id;
  });
  std::vector<PolicyDecision> out;
  out.reserve(group.size());
  if (p.empty()) {
    for (auto& s : group) out.push_back({std::move(s), true, {"policy is empty"}});
    return out;
  }
  if (group.empty()) return out;

  struct Bucket {
    int count;
    int64_t (*period)(const std::tm&, size_t nr);
    const char* reason;
    int64_t last = INT64_MIN;  // period of the snapshot this bucket kept last
  };
  std::array<Bucket, 6> buckets{{
      {p.last, [](const std::tm&, size_t nr) { return static_cast<int64_t>(nr); }, "last snapshot"},
      {p.hourly, [](const std::tm& t, size_t) { return HourOf(t); }, "hourly snapshot"},
      {p.daily, [](const std::tm& t, size_t) { return DayOf(t); }, "daily snapshot"},
      {p.weekly, [](const std::tm& t, size_t) { return IsoWeekOf(t); }, "weekly snapshot"},
      {p.monthly, [](const std::tm& t, size_t) { return MonthOf(t); }, "monthly snapshot"},
      {p.yearly, [](const std::tm& t, size_t) { return YearOf(t); }, "yearly snapshot"},
  }};

  // The newest snapshot that is not in the future; with none, the epoch
  // (restic's zero time), so --keep-within keeps only future snapshots.
  int64_t newest = INT64_MIN;
  for (const auto& s : group) {
    if (s.time_ns < now_ns && s.time_ns > newest) newest = s.time_ns;
  }
  const int64_t within_after =
      p.within.zero() ? 0 : p.within.Before(newest == INT64_MIN ? 0 : newest);

  for (size_t nr = 0; nr < group.size(); ++nr) {
    Snapshot& cur = group[nr];
    PolicyDecision d;
    for (const auto& l : p.tags) {
      if (HasTags(cur, l)) d.reasons.push_back("has tags " + JoinTags(l));
    }
    if (!p.within.zero() && cur.time_ns > within_after) {
      d.reasons.push_back("within " + p.within.ToString());
    }
    const std::tm tm = LocalTm(cur.time_ns);
    const bool oldest = nr + 1 == group.size();
    for (Bucket& b : buckets) {
      if (b.count == 0) continue;  // unused, or no counts left
      const int64_t period = b.period(tm, nr);
      if (period == b.last && !oldest) continue;
      // The oldest snapshot is kept when counts are left even in a period
      // already kept: that keeps the longest history.
      d.reasons.push_back(period == b.last ? std::string("oldest ") + b.reason : b.reason);
      b.last = period;
      if (b.count > 0) --b.count;
    }
    d.keep = !d.reasons.empty();
    d.snapshot = std::move(cur);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace cairn
