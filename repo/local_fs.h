// Reading and writing metadata on the local file system, shared by backup
// (LocalSource) and restore (the target side). errno becomes Status here.
#pragma once

#include <sys/stat.h>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "repo/tree.h"

namespace cairn {

// uid/gid <-> name lookups, cached (getpwuid_r is slow). Thread-safe.
class IdNameCache {
 public:
  std::string UserName(uint32_t uid);
  std::string GroupName(uint32_t gid);
  std::optional<uint32_t> UserId(const std::string& name);
  std::optional<uint32_t> GroupId(const std::string& name);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::string> users_, groups_;          // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::optional<uint32_t>> uids_, gids_;  // GUARDED_BY(mu_)
};

// Node type from st_mode; nullopt for an unknown type.
std::optional<NodeType> TypeFromMode(mode_t mode);
// Extended attributes of path (not following symlinks), sorted by name.
// Unsupported file systems (ENOTSUP) give an empty list.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path);
// Entry names of a directory (without "." and ".."), sorted as bytes.
Result<std::vector<std::string>> ReadDirNames(const std::string& path);

// Joins a directory path and a name ("/" + "a" -> "/a").
std::string JoinPath(const std::string& dir, const std::string& name);

// restic-style exclude patterns: a pattern without '/' matches any path
// component (fnmatch on the name); one with '/' matches the whole absolute
// path or a leading part of it ("/var/cache" excludes everything below).
class ExcludeMatcher {
 public:
  explicit ExcludeMatcher(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  bool Excluded(const std::string& path, const std::string& name) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;
};

}  // namespace cairn

namespace cairn {

// Applies node's ownership (when chown is true), xattrs, mode and times to
// an open file descriptor (fd) or, when fd < 0, to path without following
// symlinks. Order matters: chown clears setuid bits and ACL xattrs set group
// bits, so it is chown, xattrs, chmod, times. Returns the first failure.
Status ApplyMetadata(int fd, const std::string& path, const Node& node, bool chown,
                     IdNameCache& names);

}  // namespace cairn
