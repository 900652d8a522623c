// The mount daemon's control channel: a Unix socket in the abstract
// namespace ("@cairn-mount-<pid>", so nothing is left on disk when the
// daemon is killed), one line per request and one line per reply. The
// mount root shows its name in the xattr user.cairn.control, so clients find
// the daemon from the mount point alone. Only the daemon's own user and root
// may talk to it (SO_PEERCRED).
//
// Commands now: "refresh" (re-read the snapshot list), "umount", "status".
// The head/ issue adds "seal".
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/status.h"

namespace cairn {

class ControlServer {
 public:
  // handler gets a command line (no newline) and returns the reply:
  // OK -> "ok <message>", an error -> "error <message>".
  using Handler = std::function<Result<std::string>(const std::string& command)>;
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& name, Handler handler,
                                                      Logger& log);
  // Stops accepting and joins the thread.
  ~ControlServer();
  const std::string& name() const { return name_; }

 private:
  ControlServer(std::string name, int fd, Handler h, Logger& log);
  void Serve();

  std::string name_;
  int fd_;
  Handler handler_;
  Logger& log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends one command to the daemon listening on name and returns its reply
// message; the daemon's error replies come back as IOError.
Result<std::string> ControlRequest(const std::string& name, const std::string& command);

}  // namespace cairn
