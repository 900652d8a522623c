#include "repo/local_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/clock.h"
#include "common/errno_status.h"

namespace cairn {

std::string IdNameCache::UserName(uint32_t uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  char buf[4096];
  passwd pw, *res = nullptr;
  std::string name;
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res) name = res->pw_name;
  users_[uid] = name;
  return name;
}

std::string IdNameCache::GroupName(uint32_t gid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  char buf[4096];
  group gr, *res = nullptr;
  std::string name;
  if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res) name = res->gr_name;
  groups_[gid] = name;
  return name;
}

std::optional<uint32_t> IdNameCache::UserId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = uids_.find(name);
  if (it != uids_.end()) return it->second;
  char buf[4096];
  passwd pw, *res = nullptr;
  std::optional<uint32_t> id;
  if (getpwnam_r(name.c_str(), &pw, buf, sizeof(buf), &res) == 0 && res) id = res->pw_uid;
  uids_[name] = id;
  return id;
}

std::optional<uint32_t> IdNameCache::GroupId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = gids_.find(name);
  if (it != gids_.end()) return it->second;
  char buf[4096];
  group gr, *res = nullptr;
  std::optional<uint32_t> id;
  if (getgrnam_r(name.c_str(), &gr, buf, sizeof(buf), &res) == 0 && res) id = res->gr_gid;
  gids_[name] = id;
  return id;
}

std::optional<NodeType> TypeFromMode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return NodeType::kFile;
    case S_IFDIR: return NodeType::kDir;
    case S_IFLNK: return NodeType::kSymlink;
    case S_IFIFO: return NodeType::kFifo;
    case S_IFSOCK: return NodeType::kSocket;
    case S_IFCHR: return NodeType::kCharDev;
    case S_IFBLK: return NodeType::kBlockDev;
    default: return std::nullopt;
  }
}

Result<std::vector<Xattr>> ReadXattrs(const std::string& path) {
  std::vector<Xattr> out;
  std::string names;
  for (;;) {
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP || errno == ENODATA) return out;
      return Err(StatusFromErrno(errno, "listing extended attributes of " + path));
    }
    if (n == 0) return out;
    names.resize(static_cast<size_t>(n));
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;  // grew in between
    if (n < 0) return Err(StatusFromErrno(errno, "listing extended attributes of " + path));
    names.resize(static_cast<size_t>(n));
    break;
  }
  for (size_t pos = 0; pos < names.size();) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;
    std::string value;
    for (;;) {
      ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0) {
        if (errno == ENODATA) break;  // removed in between
        return Err(StatusFromErrno(errno, "reading extended attribute " + name + " of " + path));
      }
      value.resize(static_cast<size_t>(n));
      n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n < 0 && errno == ERANGE) continue;
      if (n < 0) {
        return Err(StatusFromErrno(errno, "reading extended attribute " + name + " of " + path));
      }
      value.resize(static_cast<size_t>(n));
      out.push_back({std::move(name), std::move(value)});
      break;
    }
  }
  std::sort(out.begin(), out.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<std::string>> ReadDirNames(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) {
    fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return Err(StatusFromErrno(errno, "opening directory " + path));
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int e = errno;
    ::close(fd);
    return Err(StatusFromErrno(e, "opening directory " + path));
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    const char* n = e->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    names.emplace_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err) return Err(StatusFromErrno(err, "reading directory " + path));
  std::sort(names.begin(), names.end());
  return names;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool ExcludeMatcher::Excluded(const std::string& path, const std::string& name) const {
  for (const auto& p : patterns_) {
    if (p.find('/') == std::string::npos) {
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    } else if (fnmatch(p.c_str(), path.c_str(), FNM_PATHNAME) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace cairn

namespace cairn {

Status ApplyMetadata(int fd, const std::string& path, const Node& node, bool chown,
                     IdNameCache& names) {
  const bool link = node.type == NodeType::kSymlink;
  if (chown) {
    uint32_t uid = names.UserId(node.user).value_or(node.uid);
    uint32_t gid = names.GroupId(node.group).value_or(node.gid);
    int rc = fd >= 0 ? ::fchown(fd, uid, gid) : ::lchown(path.c_str(), uid, gid);
    if (rc != 0) return StatusFromErrno(errno, "setting owner of " + path);
  }
  for (const auto& x : node.xattrs) {
    int rc = fd >= 0 ? ::fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0)
                     : ::lsetxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0);
    if (rc != 0) {
      return StatusFromErrno(errno, "setting extended attribute " + x.name + " of " + path);
    }
  }
  if (!link) {
    int rc = fd >= 0 ? ::fchmod(fd, node.mode) : ::chmod(path.c_str(), node.mode);
    if (rc != 0) return StatusFromErrno(errno, "setting mode of " + path);
  }
  const timespec ts[2] = {NsToTimespec(node.atime_ns), NsToTimespec(node.mtime_ns)};
  int rc = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return StatusFromErrno(errno, "setting times of " + path);
  return Status::OK();
}

}  // namespace cairn
