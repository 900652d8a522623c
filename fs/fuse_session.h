// What a FUSE session adds to the trees, kept free of FUSE headers so it is
// tested without a kernel mount (fs/fuse_ops.cc uses it):
//
//   SessionRoot       FUSE calls the root of every session 1; a session
//                     mounted on a subtree (head/ on MNT/head) stands for
//                     another tree inode. Requests are mapped 1 -> root,
//                     replies root -> 1.
//   RequestCounters   one relaxed atomic counter per FUSE operation served,
//                     for `cairn seal --status` and the request budgets of
//                     the tests (doc/semantics.md, "Two FUSE sessions").
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cairn {

// The FUSE root id (FUSE_ROOT_ID, which this header cannot include).
inline constexpr uint64_t kFuseRootId = 1;

// The mapping between the inode numbers FUSE uses in one session and the
// trees' numbers. Contract: the session's tree never hands out tree inode 1
// other than as the root (or its ".."), so the mapping is one to one on
// every number the kernel sees: with root 1 (the whole mount) it is the
// identity.
class SessionRoot {
 public:
  explicit constexpr SessionRoot(uint64_t root_ino) : root_(root_ino) {}
  constexpr uint64_t root() const { return root_; }
  // A number from a request (FUSE's) to the tree's.
  constexpr uint64_t ToTree(uint64_t fuse_ino) const {
    return fuse_ino == kFuseRootId ? root_ : fuse_ino;
  }
  // A number for a reply (the tree's) to FUSE's.
  constexpr uint64_t ToFuse(uint64_t tree_ino) const {
    return tree_ino == root_ ? kFuseRootId : tree_ino;
  }

 private:
  uint64_t root_;
};

// The FUSE operations a session serves (fs/fuse_ops.cc registers one
// callback for each), in the order of RequestCounters' array.
enum class FuseOp : uint8_t {
  kLookup,
  kForget,
  kBatchForget,
  kGetattr,
  kSetattr,
  kReadlink,
  kMknod,
  kMkdir,
  kUnlink,
  kRmdir,
  kSymlink,
  kRename,
  kLink,
  kOpen,
  kRead,
  kWrite,
  kFlush,
  kRelease,
  kFsync,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kFsyncdir,
  kStatfs,
  kSetxattr,
  kGetxattr,
  kListxattr,
  kRemovexattr,
  kAccess,
  kCreate,
  kFallocate,
  kCopyFileRange,
  kLseek,
  kCount  // number of operations, not one
};

// libfuse's name of the operation ("lookup", "batch_forget", ...).
constexpr std::string_view FuseOpName(FuseOp op) {
  constexpr std::array<std::string_view, static_cast<size_t>(FuseOp::kCount)> kNames = {
      "lookup",   "forget",      "batch_forget", "getattr",     "setattr",  "readlink",
      "mknod",    "mkdir",       "unlink",       "rmdir",       "symlink",  "rename",
      "link",     "open",        "read",         "write",       "flush",    "release",
      "fsync",    "opendir",     "readdir",      "readdirplus", "releasedir", "fsyncdir",
      "statfs",   "setxattr",    "getxattr",     "listxattr",   "removexattr", "access",
      "create",   "fallocate",   "copy_file_range", "lseek"};
  return kNames[static_cast<size_t>(op)];
}

// Requests per operation. Count is one relaxed increment (no lock, no
// ordering: the counts are statistics, read while requests go on).
class RequestCounters {
 public:
  void Count(FuseOp op) { counts_[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t Get(FuseOp op) const {
    return counts_[static_cast<size_t>(op)].load(std::memory_order_relaxed);
  }
  // The operations requested at least once, by FuseOpName.
  std::map<std::string, uint64_t> ByName() const {
    std::map<std::string, uint64_t> out;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (uint64_t n = counts_[i].load(std::memory_order_relaxed)) {
        out.emplace(FuseOpName(static_cast<FuseOp>(i)), n);
      }
    }
    return out;
  }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(FuseOp::kCount)> counts_{};
};

}  // namespace cairn
