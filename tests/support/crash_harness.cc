#include "tests/support/crash_harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <thread>

#include "tests/support/faulty_local_files.h"

namespace cairn {
namespace {

// Forks; the child runs body and _exits with its value (3 on an exception,
// 4 when the fork itself failed in the parent's view). kill_after < 0: wait
// for the child to end by itself.
ChildEnd Run(const std::function<int()>& body, std::chrono::microseconds kill_after) {
  std::fflush(nullptr);  // nothing buffered is written twice
  pid_t pid = ::fork();
  if (pid < 0) return ChildEnd{false, 0, 4};
  if (pid == 0) {
    int rc = 3;
    try {
      rc = body();
    } catch (...) {
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  if (kill_after.count() >= 0) {
    std::this_thread::sleep_for(kill_after);
    ::kill(pid, SIGKILL);  // a child that already ended is a zombie: no effect
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ChildEnd end;
  if (WIFSIGNALED(status)) {
    if (WTERMSIG(status) == SIGKILL) {
      end.killed = true;
    } else {
      end.signal = WTERMSIG(status);
    }
  } else if (WIFEXITED(status)) {
    end.exit_code = WEXITSTATUS(status);
  }
  return end;
}

}  // namespace

std::string ChildEnd::Describe() const {
  if (killed) return "killed";
  if (signal) return "signal " + std::to_string(signal);
  return "exit " + std::to_string(exit_code);
}

ChildEnd RunKilledAtOp(uint64_t n, const std::function<int(LocalFiles&)>& body) {
  return Run(
      [&] {
        FaultyLocalFiles files;
        files.CrashAt(n, [] { ::raise(SIGKILL); });
        return body(files);
      },
      std::chrono::microseconds(-1));
}

ChildEnd RunKilledAfter(std::chrono::microseconds delay, const std::function<int()>& body) {
  return Run(body, delay);
}

ChildEnd RunInChild(const std::function<int()>& body) {
  return Run(body, std::chrono::microseconds(-1));
}

}  // namespace cairn
