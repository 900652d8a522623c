// errno -> Status, for the code that talks to the local file system
// (LocalDirStore, the backup source reader and the restorer).
#pragma once

#include <string_view>

#include "common/status.h"

namespace cairn {

// "<what>: <strerror>" with a code chosen from err: ENOENT -> NotFound,
// EACCES/EPERM -> PermissionDenied, ENOSPC/EDQUOT -> NoSpace, EEXIST ->
// AlreadyExists, EINTR -> Cancelled, else IOError.
Status StatusFromErrno(int err, std::string_view what);
// The same with what = "<verb> <path>" ("reading /srv/a: No space left...").
Status StatusFromErrno(int err, std::string_view verb, std::string_view path);

}  // namespace cairn
