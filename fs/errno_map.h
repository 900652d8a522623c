// Status -> errno for the FUSE replies: the only place that makes an errno
// (fs/fuse_ops.cc calls it; no FUSE headers here, so it is unit-tested in
// tests/fs/errno_map_test.cc). Each code has one meaning
// (common/status.h), so no caller picks an errno from the operation.
#pragma once

#include <cerrno>

#include "common/status.h"

namespace cairn {

constexpr int ErrnoFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kNotFound: return ENOENT;
    case ErrorCode::kAlreadyExists: return EEXIST;
    case ErrorCode::kInvalidArgument: return EINVAL;
    case ErrorCode::kPermissionDenied: return EACCES;
    // An S3 object lock or a prune lease refused a change the caller may
    // make in principle: "operation not permitted" (EPERM), like a write
    // to an immutable (chattr +i) file. Not EROFS, which says the whole
    // file system refuses changes, nor EACCES, which a user fixes with
    // permissions.
    case ErrorCode::kLocked: return EPERM;
    case ErrorCode::kCancelled: return EINTR;
    case ErrorCode::kNoSpace: return ENOSPC;
    case ErrorCode::kUnsupported: return EOPNOTSUPP;
    case ErrorCode::kOutOfRange: return EINVAL;  // e.g. a seek or read past what exists
    case ErrorCode::kNotADirectory: return ENOTDIR;
    case ErrorCode::kIsADirectory: return EISDIR;
    case ErrorCode::kNotEmpty: return ENOTEMPTY;
    case ErrorCode::kCrossDevice: return EXDEV;
    case ErrorCode::kNameTooLong: return ENAMETOOLONG;
    case ErrorCode::kReadOnly: return EROFS;
    // Damaged or unreachable data, after retries: the program sees an I/O
    // error and the log names the object.
    case ErrorCode::kCorruption:
    case ErrorCode::kTransient:
    case ErrorCode::kIOError:
    case ErrorCode::kWrongPassword:
    case ErrorCode::kNotARepository:
    case ErrorCode::kPartial:
      return EIO;
  }
  return EIO;
}

inline int ErrnoFor(const Status& s) { return ErrnoFor(s.code()); }

// A read never says "no such file" about a file it has open: missing or
// damaged data (a blob or pack gone, failing authentication, or shorter
// than the index says) is EIO.
inline int ReadErrno(const Status& s) {
  return s.Is(ErrorCode::kNotFound) || s.Is(ErrorCode::kCorruption) ||
                 s.Is(ErrorCode::kOutOfRange)
             ? EIO
             : ErrnoFor(s);
}

// getxattr(2) and removexattr(2) say ENODATA for an attribute that is not
// there (ENOENT would mean the file is missing).
inline int XattrErrno(const Status& s) {
  return s.Is(ErrorCode::kNotFound) ? ENODATA : ErrnoFor(s);
}

}  // namespace cairn
