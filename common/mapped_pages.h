// Releasing this process's mappings of a file's pages (for LMDB maps: the
// pages a walk touched stay in the page cache but leave the process's RSS).
#pragma once

#include <string>

namespace cairn {

// madvise(MADV_DONTNEED) on every shared mapping of path found in
// /proc/self/maps. The file's data is untouched (dirty pages of a writable
// shared map are kept in the page cache); the next access maps pages
// again. Best effort: does nothing when the file is not mapped.
void ReleaseFileMappings(const std::string& path);

}  // namespace cairn
