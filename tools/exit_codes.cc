#include "tools/exit_codes.h"

namespace cairn {

int ExitCodeFor(ErrorCode code) {
  // No default: -Wswitch (an error with CAIRN_WERROR) names a code that has
  // no exit code yet.
  switch (code) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kPartial: return kExitPartial;
    case ErrorCode::kNotARepository: return kExitNoRepository;
    case ErrorCode::kUnsupported: return kExitUnsupported;
    case ErrorCode::kWrongPassword: return kExitWrongPassword;
    case ErrorCode::kCorruption: return kExitCorruption;
    // A read past the end of a stored object: the object is shorter than
    // the repository says (a truncated pack), i.e. damaged data.
    case ErrorCode::kOutOfRange: return kExitCorruption;
    case ErrorCode::kPermissionDenied: return kExitPermissionDenied;
    // A write refused because the repository was opened read-only: refused
    // access, as it was before ReadOnly had its own code.
    case ErrorCode::kReadOnly: return kExitPermissionDenied;
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kTransient: return kExitStoreUnavailable;
    case ErrorCode::kNoSpace: return kExitNoSpace;
    case ErrorCode::kLocked: return kExitLocked;
    case ErrorCode::kCancelled: return kExitInterrupted;
    // What the message says is all a script can act on.
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kIOError:
    case ErrorCode::kNotADirectory:
    case ErrorCode::kIsADirectory:
    case ErrorCode::kNotEmpty:
    case ErrorCode::kCrossDevice:
    case ErrorCode::kNameTooLong:
      return kExitError;
  }
  return kExitError;  // not an ErrorCode (a byte from a dead daemon's pipe)
}

}  // namespace cairn
