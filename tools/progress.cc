#include "tools/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/clock.h"
#include "tools/format.h"

namespace cairn {

ProgressLine::ProgressLine(bool enabled, std::function<std::string(double)> render,
                           int interval_ms)
    : render_(std::move(render)) {
  if (!enabled) return;
  thread_ = std::thread([this, interval_ms] {
    const int64_t start = MonotonicNs();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [&] { return stop_; })) {
      std::string line = "\r\033[K" + render_(static_cast<double>(MonotonicNs() - start) / 1e9);
      (void)!::write(STDERR_FILENO, line.data(), line.size());
    }
    const char clear[] = "\r\033[K";
    (void)!::write(STDERR_FILENO, clear, sizeof(clear) - 1);
  });
}

ProgressLine::~ProgressLine() { Stop(); }

void ProgressLine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string FormatRate(double bytes_per_s) {
  return FormatBytes(static_cast<uint64_t>(bytes_per_s)) + "/s";
}

std::string FormatClock(double seconds) {
  long s = static_cast<long>(seconds);
  char buf[32];
  if (s >= 3600) {
    snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace cairn
