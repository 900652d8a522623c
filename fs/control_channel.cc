#include "fs/control_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/clock.h"

namespace cairn {
namespace {

// A command is one short line (a seal's tags and message); a reply may list
// many paths (leftover temporaries), so it may be much longer.
constexpr size_t kMaxCommandBytes = size_t{1} << 20;
constexpr size_t kMaxReplyBytes = size_t{64} << 20;
// How long the daemon waits for a connected client's command.
constexpr int64_t kCommandTimeoutMs = 5000;

sockaddr_un Address(const std::string& name, socklen_t* len) {
  sockaddr_un a;
  std::memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  // Abstract namespace: a leading NUL, then the name (not NUL-terminated).
  size_t n = std::min(name.size(), sizeof(a.sun_path) - 1);
  std::memcpy(a.sun_path + 1, name.data(), n);
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  return a;
}

// Reads one line (without its '\n') from fd, which the peer sends and then
// waits or closes: bytes after the newline are not expected and dropped.
// A line cut by the peer's close counts when not empty. what names the
// peer in errors.
Status ReadLine(int fd, size_t max_bytes, int64_t timeout_ms, const std::atomic<bool>* cancel,
                const std::string& what, std::string* line) {
  line->clear();
  const int64_t deadline = timeout_ms < 0 ? -1 : MonotonicNs() + timeout_ms * 1000000;
  char buf[65536];
  for (;;) {
    if (cancel != nullptr && cancel->load()) return Status::Cancelled("interrupted");
    int wait_ms = cancel != nullptr ? 200 : -1;
    if (deadline >= 0) {
      const int64_t left_ms = (deadline - MonotonicNs() + 999999) / 1000000;
      if (left_ms <= 0) {
        return Status::IOError(what + " did not answer within " +
                               std::to_string((timeout_ms + 999) / 1000) + " s");
      }
      wait_ms = wait_ms < 0 ? static_cast<int>(std::min<int64_t>(left_ms, 1 << 30))
                            : static_cast<int>(std::min<int64_t>(left_ms, wait_ms));
    }
    pollfd p{fd, POLLIN, 0};
    const int pr = poll(&p, 1, wait_ms);
    if (pr < 0 && errno != EINTR) return Status::IOError(what + ": " + strerror(errno));
    if (pr <= 0) continue;
    const ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IOError(what + ": " + strerror(errno));
    if (r == 0) {
      if (!line->empty()) return Status::OK();
      return Status::IOError(what + " closed the connection without answering");
    }
    const char* end = buf + r;
    const char* nl = std::find(static_cast<const char*>(buf), end, '\n');
    line->append(buf, static_cast<size_t>(nl - buf));
    if (line->size() > max_bytes) {
      return Status::InvalidArgument(what + " sent a line over " + std::to_string(max_bytes) +
                                     " bytes");
    }
    if (nl != end) return Status::OK();
  }
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

std::string ErrorReply(const Status& s) {
  const ErrorCode code = s.ok() ? ErrorCode::kIOError : s.code();
  return "error " + std::string(ErrorCodeName(code)) + " " + s.message();
}

// The first word of a command, for messages (a seal's JSON can be long).
std::string Verb(const std::string& command) { return command.substr(0, command.find(' ')); }

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  // No default: -Wswitch names a new code that has no wire name yet.
  switch (code) {
    case ErrorCode::kOk: return "Ok";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kCorruption: return "Corruption";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kPermissionDenied: return "PermissionDenied";
    case ErrorCode::kLocked: return "Locked";
    case ErrorCode::kTransient: return "Transient";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kIOError: return "IOError";
    case ErrorCode::kNoSpace: return "NoSpace";
    case ErrorCode::kWrongPassword: return "WrongPassword";
    case ErrorCode::kUnsupported: return "Unsupported";
    case ErrorCode::kNotARepository: return "NotARepository";
    case ErrorCode::kPartial: return "Partial";
    case ErrorCode::kOutOfRange: return "OutOfRange";
    case ErrorCode::kNotADirectory: return "NotADirectory";
    case ErrorCode::kIsADirectory: return "IsADirectory";
    case ErrorCode::kNotEmpty: return "NotEmpty";
    case ErrorCode::kCrossDevice: return "CrossDevice";
    case ErrorCode::kNameTooLong: return "NameTooLong";
    case ErrorCode::kReadOnly: return "ReadOnly";
  }
  return "IOError";
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (unsigned i = 1; i < kErrorCodeCount; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    if (ErrorCodeName(code) == name) return code;
  }
  return std::nullopt;
}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& name,
                                                            Handler handler, Logger& log) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(Status::IOError(std::string("control socket: ") + strerror(errno)));
  socklen_t len;
  sockaddr_un a = Address(name, &len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 8) != 0) {
    int e = errno;
    close(fd);
    return Err(Status::IOError("control socket @" + name + ": " + strerror(e)));
  }
  return std::unique_ptr<ControlServer>(new ControlServer(name, fd, std::move(handler), log));
}

ControlServer::ControlServer(std::string name, int fd, Handler h, Logger& log)
    : name_(std::move(name)), fd_(fd), handler_(std::move(h)), log_(log) {
  thread_ = std::thread([this] { Serve(); });
}

ControlServer::~ControlServer() {
  stop_.store(true);
  shutdown(fd_, SHUT_RDWR);  // wakes the poll in Serve
  thread_.join();            // Serve joins the connection threads
  close(fd_);
}

void ControlServer::Serve() {
  // Connection threads and their "finished" flags; only this thread
  // touches the list.
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> conns;
  auto reap = [&conns] {
    std::erase_if(conns, [](Connection& c) {
      if (!c.done->load()) return false;
      c.thread.join();
      return true;
    });
  };
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, 500);
    reap();
    if (pr <= 0 || stop_.load()) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
      WriteAll(c, ErrorReply(Status::PermissionDenied(
                      "permission denied: only the mount's owner may control it")) +
                      "\n");
      close(c);
      continue;
    }
    if (conns.size() >= kMaxConnections) {
      WriteAll(c, ErrorReply(Status::Transient("the mount daemon is busy with " +
                                               std::to_string(conns.size()) +
                                               " commands; try again")) +
                      "\n");
      close(c);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    conns.push_back({std::thread([this, c, done] {
                       Handle(c);
                       done->store(true);
                     }),
                     done});
  }
  for (Connection& c : conns) c.thread.join();
}

void ControlServer::Handle(int conn) {
  std::string line;
  const Status read = ReadLine(conn, kMaxCommandBytes, kCommandTimeoutMs, nullptr, "client", &line);
  if (read.ok()) {
    auto r = handler_(line);
    std::string reply = r ? "ok " + *r : ErrorReply(r.error());
    std::replace(reply.begin(), reply.end(), '\n', ' ');
    log_.Info("mount: control command \"{}\": {}", Verb(line),
              reply.size() > 200 ? reply.substr(0, 200) + "..." : reply);
    WriteAll(conn, reply + "\n");
  } else if (read.Is(ErrorCode::kInvalidArgument)) {
    WriteAll(conn, ErrorReply(read) + "\n");  // a command over the limit
  }
  close(conn);
}

Result<std::string> ControlRequest(const std::string& name, const std::string& command,
                                   const ControlRequestOptions& options) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(Status::IOError(std::string("socket: ") + strerror(errno)));
  socklen_t len;
  sockaddr_un a = Address(name, &len);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    int e = errno;
    close(fd);
    return Err(Status::NotFound("no mount daemon answers on @" + name + ": " + strerror(e) +
                                " (has it exited? `cairn umount` clears a dead mount)"));
  }
  const std::string what = "mount daemon @" + name + " (" + Verb(command) + ")";
  std::string reply;
  Status s = WriteAll(fd, command + "\n")
                 ? ReadLine(fd, kMaxReplyBytes, options.timeout_ms, options.cancel, what, &reply)
                 : Status::IOError("cannot send to " + what + ": " + strerror(errno));
  close(fd);
  if (!s.ok()) return Err(s);
  if (reply == "ok") return std::string();
  if (reply.rfind("ok ", 0) == 0) return reply.substr(3);
  std::string message = reply.rfind("error ", 0) == 0 ? reply.substr(6) : reply;
  ErrorCode code = ErrorCode::kIOError;
  const size_t sp = message.find(' ');
  if (auto c = ErrorCodeFromName(std::string_view(message).substr(0, sp))) {
    code = *c;
    message = sp == std::string::npos ? std::string() : message.substr(sp + 1);
  }
  return Err(Status(code, "mount daemon: " + message));
}

}  // namespace cairn
