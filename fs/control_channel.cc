#include "fs/control_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cairn {
namespace {

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

bool ReadLine(int fd, std::string* line, int timeout_ms) {
  line->clear();
  char c;
  while (line->size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return !line->empty();
    if (c == '\n') return true;
    line->push_back(c);
  }
  return true;
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

}  // namespace

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
  thread_.join();
  close(fd_);
}

void ControlServer::Serve() {
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, 500);
    if (pr <= 0 || stop_.load()) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
      WriteAll(c, "error permission denied: only the mount's owner may control it\n");
      close(c);
      continue;
    }
    std::string line;
    if (ReadLine(c, &line, 5000)) {
      auto r = handler_(line);
      std::string reply = r ? "ok " + *r : "error " + r.error().message();
      for (char& ch : reply) {
        if (ch == '\n') ch = ' ';
      }
      log_.Info("mount: control command \"{}\": {}", line, reply);
      WriteAll(c, reply + "\n");
    }
    close(c);
  }
}

Result<std::string> ControlRequest(const std::string& name, const std::string& command) {
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
  std::string reply;
  bool ok = WriteAll(fd, command + "\n") && ReadLine(fd, &reply, 60000);
  close(fd);
  if (!ok) return Err(Status::IOError("mount daemon @" + name + " did not answer " + command));
  if (reply.rfind("ok", 0) == 0) return reply.size() > 3 ? reply.substr(3) : std::string();
  return Err(Status::IOError("mount daemon: " + (reply.size() > 6 ? reply.substr(6) : reply)));
}

}  // namespace cairn
