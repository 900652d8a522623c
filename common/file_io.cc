#include "common/file_io.h"

#include <unistd.h>

#include <string>

#include "common/errno_status.h"

namespace cairn {
namespace {

// Writes never legitimately move 0 of n > 0 bytes; treat that as EIO so the
// loop cannot spin.
ssize_t NonZero(ssize_t w) {
  if (w == 0) {
    errno = EIO;
    return -1;
  }
  return w;
}

}  // namespace

int Fd::Close() {
  if (fd_ < 0) return 0;
  int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 ? 0 : errno;
}

Result<size_t> ReadFully(int fd, void* buf, size_t n, std::string_view path) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t got = 0;
  int err = TransferFully(n, &got, [&](size_t done) { return ::read(fd, p + done, n - done); });
  if (err) return Err(StatusFromErrno(err, "reading", path));
  return got;
}

Result<size_t> PReadFully(int fd, void* buf, size_t n, uint64_t offset, std::string_view path) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t got = 0;
  int err = TransferFully(n, &got, [&](size_t done) {
    return ::pread(fd, p + done, n - done, static_cast<off_t>(offset + done));
  });
  if (err) return Err(StatusFromErrno(err, "reading", path));
  return got;
}

Status WriteFully(int fd, const void* buf, size_t n, std::string_view path) {
  const auto* p = static_cast<const uint8_t*>(buf);
  size_t put = 0;
  int err = TransferFully(n, &put, [&](size_t done) {
    return NonZero(::write(fd, p + done, n - done));
  });
  return err ? StatusFromErrno(err, "writing", path) : Status::OK();
}

Status PWriteFully(int fd, const void* buf, size_t n, uint64_t offset, std::string_view path) {
  const auto* p = static_cast<const uint8_t*>(buf);
  size_t put = 0;
  int err = TransferFully(n, &put, [&](size_t done) {
    return NonZero(::pwrite(fd, p + done, n - done, static_cast<off_t>(offset + done)));
  });
  return err ? StatusFromErrno(err, "writing", path) : Status::OK();
}

}  // namespace cairn
