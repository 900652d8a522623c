#include "common/status.h"

namespace cairn {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kTransient: return "transient";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kIOError: return "I/O error";
    case ErrorCode::kNoSpace: return "no space";
    case ErrorCode::kWrongPassword: return "wrong password";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kNotARepository: return "not a repository";
    case ErrorCode::kPartial: return "partial";
    case ErrorCode::kOutOfRange: return "out of range";
    case ErrorCode::kNotADirectory: return "not a directory";
    case ErrorCode::kIsADirectory: return "is a directory";
    case ErrorCode::kNotEmpty: return "not empty";
    case ErrorCode::kCrossDevice: return "cross-device";
    case ErrorCode::kNameTooLong: return "name too long";
    case ErrorCode::kReadOnly: return "read-only";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string m;
  m.reserve(prefix.size() + 2 + message_.size());
  m.append(prefix).append(": ").append(message_);
  return Status(code_, std::move(m));
}

}  // namespace cairn
