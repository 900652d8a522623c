// File descriptors and whole-buffer I/O on them: the one place that retries
// EINTR and short reads/writes and turns errno into a Status
// (common/errno_status.h). Used by LocalDirStore and by the POSIX
// LocalFiles (common/local_files.h), which the blob cache and restore use.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace cairn {

// Owns a file descriptor and closes it when it goes out of scope. Move-only;
// -1 means "none". Not thread-safe: one owner at a time.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now and returns close()'s errno (0 on success, and when there was
  // nothing to close). The descriptor is gone either way (Linux close(2)).
  int Close();

 private:
  void Reset() {
    if (fd_ >= 0) (void)Close();
  }
  int fd_ = -1;
};

// Moves n bytes with `step(done)`, a pread/pwrite-shaped call for the part
// from `done` on that returns the bytes it moved or -1 with errno set.
// Retries EINTR and partial transfers; stops early only when step returns 0
// (end of file for reads). Returns 0 and sets *moved, or the errno of the
// failed step (*moved then holds what was moved before it). The one
// read/write loop: the fd helpers below and LocalFile use it.
template <class Step>
int TransferFully(size_t n, size_t* moved, Step&& step) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = step(done);
    if (r < 0) {
      if (errno == EINTR) continue;
      *moved = done;
      return errno;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *moved = done;
  return 0;
}

// Reads n bytes (fewer only at end of file) and returns how many were read.
// Errors read "reading <path>: <strerror>" with the code StatusFromErrno
// chooses; path only names the file in messages.
Result<size_t> ReadFully(int fd, void* buf, size_t n, std::string_view path);
Result<size_t> PReadFully(int fd, void* buf, size_t n, uint64_t offset, std::string_view path);
// Writes all n bytes; "writing <path>: <strerror>" otherwise (NoSpace for
// ENOSPC/EDQUOT). A write that moves nothing is reported as EIO rather than
// retried forever.
Status WriteFully(int fd, const void* buf, size_t n, std::string_view path);
Status PWriteFully(int fd, const void* buf, size_t n, uint64_t offset, std::string_view path);

}  // namespace cairn
