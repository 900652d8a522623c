// FuseMount: serves an ArchiveFs through the kernel's FUSE low-level API.
// The only seam to libfuse; the header keeps FUSE types out of its users.
// Status -> errno translation happens here and nowhere else.
//
// One FuseMount is one FUSE session (one kernel connection). A mount has
// two (doc/semantics.md, "Two FUSE sessions"): the snapshots at MNT, rooted
// at the layout root, and the writable head/ at MNT/head, rooted at
// HeadTree::kRootIno; both are served by the same ArchiveFs. A session's
// tuning (ro, OPEN/OPENDIR answered ENOSYS, timeouts, kernel capabilities)
// follows the policy of the tree its root is in (ArchiveFs::PolicyOf).
#pragma once

#include <cstdint>
#include <map>
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
  // The tree inode that FUSE's root (id 1) stands for: the whole mount
  // (kRootIno, no mapping) or a subtree such as head/.
  uint64_t root_ino = ArchiveFs::kRootIno;
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
  // FUSE requests served so far by operation ("lookup", "getattr",
  // "write", ...; fs/fuse_session.h), those answered ENOSYS included;
  // operations never requested are absent. Thread-safe.
  std::map<std::string, uint64_t> RequestCounts() const;

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
