// The mount daemon's control channel: a Unix socket in the abstract
// namespace ("@cairn-mount-<pid>", so nothing is left on disk when the
// daemon is killed), one connection per request: one line from the client,
// one line back. The mount root shows its name in the xattr
// user.cairn.control, so clients find the daemon from the mount point
// alone. Only the daemon's own user and root may talk to it (SO_PEERCRED).
//
// Replies are "ok <message>" or "error <Code> <message>", where <Code> is
// the name of the handler's ErrorCode ("NotFound", "NoSpace", ...; see
// ErrorCodeName), so a client exits with the status the daemon's error
// deserves. A reply "error <message>" whose first word is no code name
// (from a daemon older than the codes) reads as IOError.
//
// Commands: "refresh" (re-read the snapshot list), "umount", "status", and
// for head/ "seal <json>", "head-status" (fs/head_control.h) and
// "prepare-umount" (store head/'s staged data, or seal with
// --seal-on-unmount, before `cairn umount` unmounts).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/log.h"
#include "common/status.h"

namespace cairn {

class ControlServer {
 public:
  // handler gets a command line (no newline) and returns the reply message.
  // It is called on a thread of its own for each connection, so several
  // calls may run at once (a "head-status" while a "seal" runs): it must be
  // thread-safe. Newlines in a reply are sent as spaces.
  using Handler = std::function<Result<std::string>(const std::string& command)>;
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& name, Handler handler,
                                                      Logger& log);
  // Stops accepting, then waits for the commands being handled to finish.
  ~ControlServer();
  const std::string& name() const { return name_; }

  // Connections served at once; one more is answered "error Transient ...".
  static constexpr size_t kMaxConnections = 8;

 private:
  ControlServer(std::string name, int fd, Handler h, Logger& log);
  void Serve();
  void Handle(int conn);

  std::string name_;
  int fd_;
  Handler handler_;
  Logger& log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct ControlRequestOptions {
  // How long to wait for the reply; < 0: as long as it takes (a seal may
  // run for minutes; the daemon closing the connection still ends the wait).
  int64_t timeout_ms = 60000;
  // When set and true, the wait ends with Cancelled (checked every 200 ms).
  // The daemon is not told: a command it has started goes on.
  const std::atomic<bool>* cancel = nullptr;
};

// Sends one command to the daemon listening on name and returns its reply
// message. A daemon's error reply comes back with its code and the message
// "mount daemon: <message>"; no daemon listening is NotFound.
Result<std::string> ControlRequest(const std::string& name, const std::string& command,
                                   const ControlRequestOptions& options = {});

// The wire names of error codes ("NotFound"); ErrorCodeFromName is their
// inverse and empty for any other word (kOk has no name on the wire).
std::string_view ErrorCodeName(ErrorCode code);
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

}  // namespace cairn
