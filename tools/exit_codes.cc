#include "tools/exit_codes.h"

namespace cairn {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kPartial: return kExitPartial;
    case ErrorCode::kNotARepository: return kExitNoRepository;
    case ErrorCode::kUnsupported: return kExitUnsupported;
    case ErrorCode::kWrongPassword: return kExitWrongPassword;
    case ErrorCode::kCorruption: return kExitCorruption;
    case ErrorCode::kPermissionDenied: return kExitPermissionDenied;
    case ErrorCode::kCancelled: return kExitInterrupted;
    default: return kExitError;
  }
}

}  // namespace cairn
