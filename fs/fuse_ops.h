// FuseMount: serves an ArchiveFs through the kernel's FUSE low-level API.
// The only seam to libfuse; the header keeps FUSE types out of its users.
// Status -> errno translation happens here and nowhere else.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "fs/archive_fs.h"

namespace cairn {

struct FuseMountOptions {
  std::string mountpoint;
  std::vector<std::string> options;  // -o values passed through (allow_other, ...)
  unsigned max_threads = 16;         // worker threads of the multi-threaded loop
};

class FuseMount {
 public:
  // Mounts fs at opts.mountpoint; the mount is live when this returns OK.
  static Result<std::unique_ptr<FuseMount>> Mount(ArchiveFs& fs, const FuseMountOptions& opts,
                                                  Logger& log);
  // Unmounts if still mounted.
  ~FuseMount();

  // Serves requests until the file system is unmounted (by umount,
  // fusermount3 -u or Stop()).
  Status Run();
  // Thread-safe: detaches the mount (lazy unmount, so readers that still
  // hold files finish first) and makes Run return.
  void Stop();

  struct State;

 private:
  explicit FuseMount(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// Unmounts mountpoint: lazily (MNT_DETACH / fusermount3 -z) when lazy, which
// also clears a mount whose daemon died ("Transport endpoint is not
// connected").
Status UnmountFuse(const std::string& mountpoint, bool lazy);

}  // namespace cairn
