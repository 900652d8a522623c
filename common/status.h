// Status and Result<T>: errors are values (doc/architecture.md). A Status carries a code
// that the edges translate (exit code in tools/, errno in fs/fuse_ops.cc) and a
// message that names the object and, where one exists, the fix.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace cairn {

enum class ErrorCode : unsigned char {
  kOk = 0,
  kNotFound,           // object, blob, snapshot or file does not exist
  kAlreadyExists,      // refused to overwrite (init over a repository, If-None-Match)
  kCorruption,         // stored bytes fail authentication, checksum or parsing
  kInvalidArgument,    // bad input from the user or caller
  kPermissionDenied,   // the OS or the store refused access
  kLocked,             // S3 object lock, a prune lease or another process's lock (the
                       // blob cache) forbids the operation (never "read-only": that
                       // is kReadOnly)
  kTransient,          // worth retrying: 5xx, timeouts, resets
  kCancelled,          // interrupted by the user (SIGINT)
  kIOError,            // local I/O failure that fits no other code
  kNoSpace,            // ENOSPC / EDQUOT
  kWrongPassword,      // no key file opens with the given password
  kUnsupported,        // newer repository format, unknown object version
  kNotARepository,     // the location holds no cairn repository
  kPartial,            // finished, but some items were skipped (each reported)
  // What a file system operation or a read of a stored object ran into;
  // each has one meaning, so the edges map it without guessing (errno in
  // fs/errno_map.h, exit codes in tools/exit_codes.cc).
  kOutOfRange,     // a read starts past the end of an object or a file
  kNotADirectory,  // a path component or an operand is not a directory
  kIsADirectory,   // a file operation on a directory
  kNotEmpty,       // rmdir or rename onto a directory that has entries
  kCrossDevice,    // link or rename between trees that cannot share entries
  kNameTooLong,    // a name over the file system's limit
  kReadOnly,       // the tree or mount refuses changes (snapshots are immutable), or
                   // the repository was opened read-only (ReadOnlyStore)
};
// One past the last code, for tests that cover every code.
inline constexpr unsigned kErrorCodeCount = static_cast<unsigned>(ErrorCode::kReadOnly) + 1;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  // Lets CAIRN_RETURN_IF_ERROR return the same expression from functions
  // returning Status and from functions returning Result<T>.
  Status(tl::unexpected<Status> u) : Status(std::move(u.value())) {}  // NOLINT

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
  static Status InvalidArgument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {ErrorCode::kPermissionDenied, std::move(m)};
  }
  static Status Locked(std::string m) { return {ErrorCode::kLocked, std::move(m)}; }
  static Status Transient(std::string m) { return {ErrorCode::kTransient, std::move(m)}; }
  static Status Cancelled(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }
  static Status IOError(std::string m) { return {ErrorCode::kIOError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {ErrorCode::kNoSpace, std::move(m)}; }
  static Status WrongPassword(std::string m) { return {ErrorCode::kWrongPassword, std::move(m)}; }
  static Status Unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
  static Status NotARepository(std::string m) {
    return {ErrorCode::kNotARepository, std::move(m)};
  }
  static Status Partial(std::string m) { return {ErrorCode::kPartial, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {ErrorCode::kOutOfRange, std::move(m)}; }
  static Status NotADirectory(std::string m) { return {ErrorCode::kNotADirectory, std::move(m)}; }
  static Status IsADirectory(std::string m) { return {ErrorCode::kIsADirectory, std::move(m)}; }
  static Status NotEmpty(std::string m) { return {ErrorCode::kNotEmpty, std::move(m)}; }
  static Status CrossDevice(std::string m) { return {ErrorCode::kCrossDevice, std::move(m)}; }
  static Status NameTooLong(std::string m) { return {ErrorCode::kNameTooLong, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {ErrorCode::kReadOnly, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool Is(ErrorCode c) const { return code_ == c; }

  // "message" for errors, "ok" otherwise.
  std::string ToString() const { return ok() ? std::string("ok") : message_; }

  // Returns a copy whose message reads "<prefix>: <message>".
  Status WithContext(std::string_view prefix) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <class T>
using Result = tl::expected<T, Status>;

inline tl::unexpected<Status> Err(Status s) { return tl::unexpected<Status>(std::move(s)); }

// Converts Status or Result<T> into a Status (value discarded).
inline Status AsStatus(Status s) { return s; }
template <class T>
Status AsStatus(const Result<T>& r) {
  return r ? Status() : r.error();
}

}  // namespace cairn

#define CAIRN_CONCAT_IMPL(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_IMPL(a, b)

// Returns the error of a Status- or Result-valued expression from the
// enclosing function (which may return Status or any Result<T>).
#define CAIRN_RETURN_IF_ERROR(expr)                                   \
  do {                                                                \
    ::cairn::Status cairn_status_ = ::cairn::AsStatus((expr));        \
    if (!cairn_status_.ok()) return ::cairn::Err(std::move(cairn_status_)); \
  } while (0)

// `CAIRN_ASSIGN_OR_RETURN(auto x, F());` declares x from a Result or returns
// its error.
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL(CAIRN_CONCAT(cairn_result_, __LINE__), lhs, expr)
#define CAIRN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)            \
  auto tmp = (expr);                                           \
  if (!tmp) return ::cairn::Err(std::move(tmp).error());       \
  lhs = std::move(*tmp)
