// Compares two directory trees entry by entry: type, content (SHA-256 and
// holes), mode, owner, size, mtime/atime (ns), xattrs (ACLs included),
// symlink targets, device numbers and hardlink structure. Written for the
// round-trip tests: what was backed up must come back identical.
#pragma once

#include <string>
#include <vector>

namespace cairn::testing {

struct CompareOptions {
  bool compare_atime = true;
  bool compare_holes = true;      // sparse layout: holes stay holes
  bool compare_dir_times = true;
};

// Returns one line per difference (empty when identical); the root
// directories themselves are compared too.
std::vector<std::string> CompareTrees(const std::string& a, const std::string& b,
                                      const CompareOptions& opts = {});

}  // namespace cairn::testing
