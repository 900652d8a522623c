// fs/errno_map.h: every error code has one errno, and the read and xattr
// rules on top of it.
#include "fs/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

namespace cairn {
namespace {

TEST(ErrnoMapTest, EveryCodeHasItsErrno) {
  const std::map<ErrorCode, int> want = {
      {ErrorCode::kOk, 0},
      {ErrorCode::kNotFound, ENOENT},
      {ErrorCode::kAlreadyExists, EEXIST},
      {ErrorCode::kCorruption, EIO},
      {ErrorCode::kInvalidArgument, EINVAL},
      {ErrorCode::kPermissionDenied, EACCES},
      {ErrorCode::kLocked, EPERM},
      {ErrorCode::kTransient, EIO},
      {ErrorCode::kCancelled, EINTR},
      {ErrorCode::kIOError, EIO},
      {ErrorCode::kNoSpace, ENOSPC},
      {ErrorCode::kWrongPassword, EIO},
      {ErrorCode::kUnsupported, EOPNOTSUPP},
      {ErrorCode::kNotARepository, EIO},
      {ErrorCode::kPartial, EIO},
      {ErrorCode::kOutOfRange, EINVAL},
      {ErrorCode::kNotADirectory, ENOTDIR},
      {ErrorCode::kIsADirectory, EISDIR},
      {ErrorCode::kNotEmpty, ENOTEMPTY},
      {ErrorCode::kCrossDevice, EXDEV},
      {ErrorCode::kNameTooLong, ENAMETOOLONG},
      {ErrorCode::kReadOnly, EROFS},
  };
  ASSERT_EQ(want.size(), kErrorCodeCount) << "a new code needs its errno here and in errno_map.h";
  for (unsigned c = 0; c < kErrorCodeCount; ++c) {
    const auto code = static_cast<ErrorCode>(c);
    SCOPED_TRACE(c);
    ASSERT_TRUE(want.count(code));
    EXPECT_EQ(ErrnoFor(code), want.at(code));
    EXPECT_EQ(ErrnoFor(Status(code, "m")), want.at(code));
  }
}

// An object lock or a lease is not a read-only file system: a refusal by
// S3 during a seal must not read as "the mount is read-only".
TEST(ErrnoMapTest, LockedIsNotReadOnly) {
  EXPECT_NE(ErrnoFor(Status::Locked("object lock")), EROFS);
  EXPECT_EQ(ErrnoFor(Status::ReadOnly("snapshots are read-only")), EROFS);
}

TEST(ErrnoMapTest, ReadsSayIoErrorForMissingOrDamagedData) {
  EXPECT_EQ(ReadErrno(Status::NotFound("blob")), EIO);
  EXPECT_EQ(ReadErrno(Status::Corruption("blob")), EIO);
  EXPECT_EQ(ReadErrno(Status::OutOfRange("pack shorter than its index says")), EIO);
  EXPECT_EQ(ReadErrno(Status::IsADirectory("dir")), EISDIR);
  EXPECT_EQ(ReadErrno(Status::Cancelled("interrupted")), EINTR);
  EXPECT_EQ(ReadErrno(Status::OK()), 0);
}

TEST(ErrnoMapTest, MissingAttributeIsNoData) {
  EXPECT_EQ(XattrErrno(Status::NotFound("no such attribute")), ENODATA);
  EXPECT_EQ(XattrErrno(Status::Unsupported("no SELinux label")), EOPNOTSUPP);
  EXPECT_EQ(XattrErrno(Status::ReadOnly("removexattr")), EROFS);
}

}  // namespace
}  // namespace cairn
