#include "common/log.h"

#include <unistd.h>

#include <string>

namespace cairn {

void StderrLogger::Write(LogLevel level, std::string_view message) {
  std::string line = "cairn: ";
  switch (level) {
    case LogLevel::kDebug: line += "debug: "; break;
    case LogLevel::kWarning: line += "warning: "; break;
    case LogLevel::kError: line += "error: "; break;
    default: break;
  }
  line.append(message);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace cairn
