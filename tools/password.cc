#include "tools/password.h"

#include <fcntl.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "common/errno_status.h"

namespace cairn {
namespace {

std::string FirstLine(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Result<std::string> FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(StatusFromErrno(errno, "password file " + path));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FirstLine(std::move(s));
}

Result<std::string> FromCommand(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return Err(StatusFromErrno(errno, "running --password-command"));
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) {
    return Err(Status::InvalidArgument("--password-command `" + cmd + "` failed (exit status " +
                                       std::to_string(WEXITSTATUS(rc)) + ")"));
  }
  return FirstLine(std::move(out));
}

Result<std::string> FromTerminal(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Err(Status::InvalidArgument(
        "no password given and no terminal to ask on: set CAIRN_PASSWORD, --password-file or "
        "--password-command"));
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  termios old;
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return FirstLine(std::move(line));
}

}  // namespace

Result<std::string> ReadPassword(const PasswordSource& src, const std::string& prompt,
                                 bool confirm) {
  if (!src.command.empty()) return FromCommand(src.command);
  if (!src.file.empty()) return FromFile(src.file);
  if (const char* env = std::getenv("CAIRN_PASSWORD")) return std::string(env);
  CAIRN_ASSIGN_OR_RETURN(std::string pw, FromTerminal(prompt));
  if (confirm) {
    CAIRN_ASSIGN_OR_RETURN(std::string again, FromTerminal("enter the password again: "));
    if (again != pw) return Err(Status::InvalidArgument("the passwords do not match"));
  }
  return pw;
}

Result<std::string> ReadNewPassword(const std::string& file, const std::string& prompt) {
  if (!file.empty()) return FromFile(file);
  CAIRN_ASSIGN_OR_RETURN(std::string pw, FromTerminal(prompt));
  CAIRN_ASSIGN_OR_RETURN(std::string again, FromTerminal("enter the new password again: "));
  if (again != pw) return Err(Status::InvalidArgument("the passwords do not match"));
  return pw;
}

}  // namespace cairn
