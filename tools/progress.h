// A status line redrawn on the terminal (stderr) while a command runs.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cairn {

class ProgressLine {
 public:
  // render is called every interval on the printer thread; enabled false
  // makes the object do nothing (not a terminal, --quiet, --json).
  ProgressLine(bool enabled, std::function<std::string(double elapsed_s)> render,
               int interval_ms = 250);
  ~ProgressLine();  // stops and erases the line
  void Stop();

 private:
  std::function<std::string(double)> render_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// "12.3 MiB/s", "1:02:03" helpers for progress lines.
std::string FormatRate(double bytes_per_s);
std::string FormatClock(double seconds);

}  // namespace cairn
