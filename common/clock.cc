#include "common/clock.h"

#include <time.h>

#include <charconv>
#include <cstdio>

namespace cairn {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TimespecToNs(ts);
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TimespecToNs(ts);
}

std::string FormatTime(int64_t ns, int frac_digits) {
  const timespec ts = NsToTimespec(ns);  // floors: -1 ns is 23:59:59.999999999
  const time_t secs = ts.tv_sec;
  const int64_t frac = ts.tv_nsec;
  tm t;
  gmtime_r(&secs, &t);
  char buf[64];
  int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900,
                   t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  std::string s(buf, static_cast<size_t>(n));
  if (frac_digits > 0) {
    char f[16];
    snprintf(f, sizeof(f), "%09lld", static_cast<long long>(frac));
    s += '.';
    s.append(f, static_cast<size_t>(frac_digits > 9 ? 9 : frac_digits));
  }
  s += 'Z';
  return s;
}

std::string FormatLocalTime(int64_t ns) {
  const time_t secs = NsToTimespec(ns).tv_sec;
  tm t;
  localtime_r(&secs, &t);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &t);
  return buf;
}

static bool Num(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
  return r.ec == std::errc() && r.ptr == s.data() + pos + len;
}

std::optional<int64_t> ParseTime(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!Num(s, 0, 4, &y) || !Num(s, 5, 2, &mo) || !Num(s, 8, 2, &d) || !Num(s, 11, 2, &h) ||
      !Num(s, 14, 2, &mi) || !Num(s, 17, 2, &se))
    return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    while (digits++ < 9) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Num(s, pos + 1, 2, &oh) || s[pos + 3] != ':' || !Num(s, pos + 4, 2, &om))
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = se;
  int64_t secs = timegm(&t) - offset;
  return secs * kNsPerSecond + frac;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  int64_t n;
  auto r = std::from_chars(s.data(), s.data() + s.size() - 1, n);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() - 1 || n < 0) return std::nullopt;
  switch (s.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    case 'w': return n * 7 * 86400;
    case 'y': return n * 365 * 86400;
    default: return std::nullopt;
  }
}

}  // namespace cairn
