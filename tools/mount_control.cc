#include "tools/mount_control.h"

#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

namespace cairn {

Result<std::string> ControlNameOf(const std::string& mountpoint) {
  char buf[256];
  ssize_t n = getxattr(mountpoint.c_str(), "user.cairn.control", buf, sizeof(buf));
  if (n < 0) {
    return Err(Status::NotFound(mountpoint + " is not a cairn mount (no user.cairn.control: " +
                                strerror(errno) + ")"));
  }
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace cairn
