#include "common/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace cairn {

Status StatusFromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: return Status::NotFound(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS: return Status::PermissionDenied(std::move(msg));
    case ENOSPC:
    case EDQUOT: return Status::NoSpace(msg + " (free space on that file system and retry)");
    case EEXIST: return Status::AlreadyExists(std::move(msg));
    case EINTR: return Status::Cancelled(std::move(msg));
    default: return Status::IOError(std::move(msg));
  }
}

Status StatusFromErrno(int err, std::string_view verb, std::string_view path) {
  std::string what(verb);
  what += ' ';
  what += path;
  return StatusFromErrno(err, what);
}

}  // namespace cairn
