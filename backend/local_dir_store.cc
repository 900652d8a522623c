#include "backend/local_dir_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "common/errno_status.h"
#include "common/hex.h"

namespace cairn {

namespace {

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, "opening directory " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) return StatusFromErrno(err, "syncing directory " + dir);
  return Status::OK();
}

Status MakeDirs(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::OK();
  if (errno != ENOENT) return StatusFromErrno(errno, "creating directory " + dir);
  size_t slash = dir.rfind('/');
  if (slash == std::string::npos || slash == 0) return StatusFromErrno(ENOENT, dir);
  CAIRN_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::OK();
  return StatusFromErrno(errno, "creating directory " + dir);
}

std::string TempSuffix() {
  std::random_device rd;
  uint8_t b[8];
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  return ToHex(ByteView(b, sizeof(b)));
}

// Walks dir (relative key prefix rel) recursively.
Status Walk(const std::string& dir, const std::string& rel, std::string_view prefix,
            const std::function<Status(const ObjectInfo&)>& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return StatusFromErrno(errno, "listing " + dir);
  }
  Status result;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.starts_with(LocalDirStore::kTempPrefix)) continue;
    std::string key = rel + name;
    // Prune subtrees that cannot match the prefix.
    size_t common = std::min(key.size(), prefix.size());
    if (key.compare(0, common, prefix.substr(0, common)) != 0) continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      result = StatusFromErrno(errno, "listing " + path);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      result = Walk(path, key + "/", prefix, fn);
    } else if (S_ISREG(st.st_mode) && key.size() >= prefix.size()) {
      result = fn(ObjectInfo{key, static_cast<uint64_t>(st.st_size)});
    }
    if (!result.ok()) break;
  }
  ::closedir(d);
  return result;
}

}  // namespace

LocalDirStore::LocalDirStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string LocalDirStore::Path(std::string_view key) const {
  return root_ + "/" + std::string(key);
}

Result<Bytes> LocalDirStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  const std::string path = Path(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(StatusFromErrno(errno, "reading " + path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Err(StatusFromErrno(e, "reading " + path));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    ::close(fd);
    return Err(Status::InvalidArgument(path + ": offset " + std::to_string(offset) +
                                       " is past the end (" + std::to_string(size) + " bytes)"));
  }
  uint64_t n = std::min(length, size - offset);
  Bytes out(static_cast<size_t>(n));
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Err(StatusFromErrno(e, "reading " + path));
    }
    if (r == 0) break;  // shrank meanwhile
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

Result<ObjectInfo> LocalDirStore::Head(std::string_view key) {
  const std::string path = Path(key);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Err(StatusFromErrno(errno, path));
  if (!S_ISREG(st.st_mode)) return Err(Status::NotFound(path + ": not an object"));
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size)};
}

Status LocalDirStore::List(std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  return Walk(root_, "", prefix, fn);
}

Status LocalDirStore::Put(std::string_view key, ByteView data, const PutOptions& opts) {
  const std::string path = Path(key);
  const std::string dir = path.substr(0, path.rfind('/'));
  const std::string tmp = dir + "/" + std::string(kTempPrefix) + TempSuffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(dir));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (fd < 0) return StatusFromErrno(errno, "writing " + path);
  auto fail = [&](int err, const std::string& what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return StatusFromErrno(err, what + " " + path);
  };
  for (size_t done = 0; done < data.size();) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "writing");
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) return fail(errno, "syncing");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return StatusFromErrno(e, "writing " + path);
  }
  if (opts.if_not_exists) {
    // link() fails with EEXIST atomically when the key exists.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      if (e == EEXIST) return Status::AlreadyExists(path + " already exists");
      return StatusFromErrno(e, "storing " + path);
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return StatusFromErrno(e, "storing " + path);
  }
  return FsyncDir(dir);
}

Status LocalDirStore::Delete(std::string_view key) {
  const std::string path = Path(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return StatusFromErrno(errno, "deleting " + path);
  }
  return Status::OK();
}

}  // namespace cairn
