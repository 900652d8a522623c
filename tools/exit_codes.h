// The one place where Status becomes a process exit code (STYLE.md).
// Documented in man/cairn.1, section EXIT STATUS.
#pragma once

#include "common/status.h"

namespace cairn {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;
inline constexpr int kExitNoRepository = 10;
inline constexpr int kExitUnsupported = 11;
inline constexpr int kExitWrongPassword = 12;
inline constexpr int kExitCorruption = 13;
inline constexpr int kExitPermissionDenied = 14;
inline constexpr int kExitInterrupted = 130;

int ExitCodeFor(const Status& s);

}  // namespace cairn
