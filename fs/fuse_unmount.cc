// Unmounting a FUSE mount (fs/fuse_ops.h), without the FUSE headers: as
// root with umount2(2), else through fusermount3 (setuid root).
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fs/fuse_ops.h"

namespace cairn {

Status UnmountFuse(const std::string& mountpoint, bool lazy) {
  if (geteuid() == 0) {
    if (umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0) == 0) return Status::OK();
    int e = errno;
    if (e == EINVAL) return Status::NotFound(mountpoint + " is not mounted");
    if (e == EBUSY) {
      return Status::IOError(mountpoint + " is busy (a program uses it); `cairn umount --lazy` "
                             "detaches it now and finishes when the last user goes");
    }
    return Status::IOError("unmounting " + mountpoint + ": " + strerror(e));
  }
  std::vector<std::string> args = {"fusermount3", "-u", "-q"};
  if (lazy) args.push_back("-z");
  args.push_back(mountpoint);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), environ) != 0) {
    return Status::IOError("cannot run fusermount3 to unmount " + mountpoint +
                           " (install fuse3)");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("fusermount3 could not unmount " + mountpoint +
                           " (not mounted, or busy: try `cairn umount --lazy`)");
  }
  return Status::OK();
}

}  // namespace cairn
