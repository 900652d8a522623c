// Logger: passed to components through their constructors (no global
// logger: doc/architecture.md). Implementations are thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <string_view>

#include <fmt/format.h>

namespace cairn {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Write(LogLevel level, std::string_view message) = 0;
  virtual bool Enabled(LogLevel level) const = 0;

  template <class... Args>
  void Debug(fmt::format_string<Args...> f, Args&&... a) {
    Log(LogLevel::kDebug, f, std::forward<Args>(a)...);
  }
  template <class... Args>
  void Info(fmt::format_string<Args...> f, Args&&... a) {
    Log(LogLevel::kInfo, f, std::forward<Args>(a)...);
  }
  template <class... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... a) {
    Log(LogLevel::kWarning, f, std::forward<Args>(a)...);
  }
  template <class... Args>
  void Error(fmt::format_string<Args...> f, Args&&... a) {
    Log(LogLevel::kError, f, std::forward<Args>(a)...);
  }

 private:
  template <class... Args>
  void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... a) {
    if (Enabled(level)) Write(level, fmt::format(f, std::forward<Args>(a)...));
  }
};

// Writes "cairn: warning: ..." lines to stderr. Level changes are atomic.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min = LogLevel::kWarning) : min_(static_cast<int>(min)) {}
  void SetLevel(LogLevel l) { min_.store(static_cast<int>(l), std::memory_order_relaxed); }
  void Write(LogLevel level, std::string_view message) override;
  bool Enabled(LogLevel level) const override {
    return static_cast<int>(level) >= min_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<int> min_;
  std::mutex mu_;  // serialises whole lines on stderr
};

class NullLogger final : public Logger {
 public:
  void Write(LogLevel, std::string_view) override {}
  bool Enabled(LogLevel) const override { return false; }
};

}  // namespace cairn
