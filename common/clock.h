#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

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
