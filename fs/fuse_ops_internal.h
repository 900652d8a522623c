// What fs/fuse_ops.cc (the session, reading) and fs/fuse_ops_change.cc
// (the operations that change a tree) share: the only files that include
// the FUSE headers, and the only users of this one.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <mutex>
#include <string>

#include "fs/archive_fs.h"
#include "fs/fuse_ops.h"
#include "fs/fuse_session.h"

namespace cairn {

struct FuseMount::State {
  ArchiveFs* fs = nullptr;
  Logger* log = nullptr;
  fuse_session* se = nullptr;
  std::string mountpoint;
  unsigned max_threads = 16;
  SessionRoot root{ArchiveFs::kRootIno};
  // The policy of the tree the session's root is in (ArchiveFs::PolicyOf,
  // read at mount): whether the session is writable and whether files may
  // be opened by the kernel alone (no OPEN/RELEASE).
  TreePolicy policy;
  // Entry/attr timeout of what is not immutable (see kMutableTimeout).
  double mutable_timeout = 1.0;
  bool acl_cache = false;  // let the kernel cache POSIX ACLs (see OpInit)
  std::atomic<bool> no_opendir{false};  // the kernel opens directories itself (see OpOpenDir)
  std::atomic<bool> no_open{false};     // ... and files (see OpOpen)
  RequestCounters counters;
  std::once_flag stop_once;

  uint64_t In(fuse_ino_t ino) const { return root.ToTree(ino); }
};

namespace fuse_ops {

using State = FuseMount::State;

// The session of req, after counting the request as op.
State& Serve(fuse_req_t req, FuseOp op);
// The OpenFile of a handle; null for a file the kernel opened itself.
inline OpenFile* FileOf(const fuse_file_info* fi) {
  return fi ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
}
// Replies with a's attributes or entry (numbers mapped to the session's,
// timeouts by the session's policy), or a's errno.
void ReplyAttr(fuse_req_t req, const State& s, const Result<FsAttr>& a);
void ReplyEntry(fuse_req_t req, const State& s, const Result<FsAttr>& a);
fuse_entry_param ToEntry(const State& s, const FsAttr& a);
// Sets the callbacks of fs/fuse_ops_change.cc in ops.
void AddChangeOps(fuse_lowlevel_ops& ops);

}  // namespace fuse_ops
}  // namespace cairn
