// The one place where Status becomes a process exit code (restic's
// cmd/restic/main.go). Every ErrorCode is mapped explicitly, so a new code
// does not compile until it is given one. Documented in man/cairn.1 (EXIT
// STATUS) and the README ("Exit status"); tests/tools/exit_codes_test.cc
// checks the mapping of every code and that every exit code is documented.
#pragma once

#include "common/status.h"

namespace cairn {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // any failure not listed below
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;
// The first word is not a command (`cairn forget` on an older cairn): a
// script can tell a missing feature from a wrong option (2).
inline constexpr int kExitUnknownCommand = 4;
inline constexpr int kExitNoRepository = 10;
inline constexpr int kExitUnsupported = 11;
inline constexpr int kExitWrongPassword = 12;
inline constexpr int kExitCorruption = 13;
inline constexpr int kExitPermissionDenied = 14;
inline constexpr int kExitNotFound = 15;          // snapshot, path or object missing
inline constexpr int kExitStoreUnavailable = 16;  // still failing after every retry
inline constexpr int kExitNoSpace = 17;           // a local disk is full
inline constexpr int kExitLocked = 18;            // object lock, lease or cache in use
inline constexpr int kExitInterrupted = 130;

int ExitCodeFor(ErrorCode code);
inline int ExitCodeFor(const Status& s) { return ExitCodeFor(s.code()); }

}  // namespace cairn
