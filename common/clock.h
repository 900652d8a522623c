#pragma once

#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

inline constexpr int64_t kNsPerSecond = 1000000000;

// A POSIX timespec (stat times, utimensat) as nanoseconds since the epoch.
// Every time cairn compares or stores is one int64_t, so no code compares
// seconds and nanoseconds field by field (and forgets one of them).
// Covers the years 1678-2262; tv_nsec must be in [0, 1e9).
constexpr int64_t TimespecToNs(const timespec& ts) {
  return int64_t{ts.tv_sec} * kNsPerSecond + ts.tv_nsec;
}
// The inverse: tv_nsec is always in [0, 1e9), so a time before 1970 has a
// negative tv_sec and a positive tv_nsec, as utimensat requires.
constexpr timespec NsToTimespec(int64_t ns) {
  int64_t sec = ns / kNsPerSecond;
  int64_t nsec = ns % kNsPerSecond;
  if (nsec < 0) {
    nsec += kNsPerSecond;
    sec -= 1;
  }
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  return ts;
}

// Wall clock, nanoseconds since the Unix epoch.
int64_t NowNs();
// Monotonic clock, nanoseconds; for durations and deadlines only.
int64_t MonotonicNs();

// RFC 3339 in UTC: "2026-11-23T05:21:06Z"; with frac_digits > 0 adds a fraction.
std::string FormatTime(int64_t ns, int frac_digits = 0);
// Parses RFC 3339 ("...Z", "+hh:mm", any number of fraction digits).
std::optional<int64_t> ParseTime(std::string_view s);
// Local-time display for tables: "2026-11-23 06:21:06".
std::string FormatLocalTime(int64_t ns);

// Parses durations such as "90d", "12h", "30m", "45s", "2w", "1y" into seconds.
std::optional<int64_t> ParseDuration(std::string_view s);

}  // namespace cairn
