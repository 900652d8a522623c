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

// Reads a line with echo off. Ctrl-C (the terminal's VINTR key) aborts at
// once: signals are taken by one thread with sigwait (tools/main.cc), which
// would only note a SIGINT and let the prompt wait for a line, so the line
// that followed became the password. The prompt therefore reads key by key
// with ISIG and ICANON off, handles erase and kill itself, and returns
// Cancelled on VINTR or VQUIT, with the terminal restored in every case.
// no_tty says which option replaces the prompt when there is no terminal.
Result<std::string> FromTerminal(const std::string& prompt, const std::string& no_tty) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Err(Status::InvalidArgument("no password given and no terminal to ask on: " + no_tty));
  }
  termios old;
  const bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios keys = old;
    keys.c_lflag &= ~static_cast<tcflag_t>(ECHO | ICANON | ISIG);
    keys.c_cc[VMIN] = 1;
    keys.c_cc[VTIME] = 0;
    ::tcsetattr(fd, TCSAFLUSH, &keys);
  }
  // After the mode is set: what is typed once the prompt shows is kept.
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  bool cancelled = false;
  unsigned char c;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1 || c == '\n' || c == '\r') break;
    if (!restore) {
      line += static_cast<char>(c);
      continue;
    }
    if (c == old.c_cc[VINTR] || c == old.c_cc[VQUIT]) {
      cancelled = true;
      break;
    }
    if (c == old.c_cc[VEOF]) {
      if (line.empty()) break;
      continue;
    }
    if (c == old.c_cc[VERASE] || c == 0x7f || c == 0x08) {
      // One character, not one byte: drop UTF-8 continuation bytes too.
      while (!line.empty() && (static_cast<unsigned char>(line.back()) & 0xC0) == 0x80) {
        line.pop_back();
      }
      if (!line.empty()) line.pop_back();
      continue;
    }
    if (c == old.c_cc[VKILL]) {
      line.clear();
      continue;
    }
    line += static_cast<char>(c);
  }
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (cancelled) return Err(Status::Cancelled("interrupted at the password prompt; nothing was done"));
  return FirstLine(std::move(line));
}

constexpr char kNoTtyRepoPassword[] =
    "set CAIRN_PASSWORD, CAIRN_PASSWORD_FILE, --password-file or --password-command";
constexpr char kNoTtyNewPassword[] = "give the new password with --new-password-file";

}  // namespace

std::string DescribePasswordSource(const PasswordSource& src) {
  if (!src.command.empty()) return "--password-command `" + src.command + "`";
  if (!src.file.empty()) return "--password-file " + src.file;
  if (std::getenv("CAIRN_PASSWORD") != nullptr) return "CAIRN_PASSWORD";
  return "the terminal prompt";
}

Result<std::string> ReadPassword(const PasswordSource& src, const std::string& prompt,
                                 bool confirm) {
  if (!src.command.empty()) return FromCommand(src.command);
  if (!src.file.empty()) return FromFile(src.file);
  if (const char* env = std::getenv("CAIRN_PASSWORD")) return std::string(env);
  CAIRN_ASSIGN_OR_RETURN(std::string pw, FromTerminal(prompt, kNoTtyRepoPassword));
  if (confirm) {
    CAIRN_ASSIGN_OR_RETURN(std::string again,
                           FromTerminal("enter the password again: ", kNoTtyRepoPassword));
    if (again != pw) return Err(Status::InvalidArgument("the passwords do not match"));
  }
  return pw;
}

Result<std::string> ReadNewPassword(const std::string& file, const std::string& prompt) {
  if (!file.empty()) return FromFile(file);
  CAIRN_ASSIGN_OR_RETURN(std::string pw, FromTerminal(prompt, kNoTtyNewPassword));
  CAIRN_ASSIGN_OR_RETURN(std::string again,
                         FromTerminal("enter the new password again: ", kNoTtyNewPassword));
  if (again != pw) return Err(Status::InvalidArgument("the passwords do not match"));
  return pw;
}

}  // namespace cairn
