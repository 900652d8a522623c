#include "backend/local_dir_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <random>

#include "backend/forwarding_store.h"
#include "common/clock.h"
#include "common/errno_status.h"
#include "common/file_io.h"
#include "common/hex.h"

namespace cairn {

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::string StripTrailingSlashes(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Makes a directory's entries durable. Some file systems refuse fsync on a
// directory with EINVAL; there is nothing more to do on those.
Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return StatusFromErrno(errno, "opening directory " + dir + " to sync it");
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return StatusFromErrno(errno, "syncing directory " + dir);
  }
  return Status::OK();
}

// Creates dir and its missing parents (mode 0700), syncing the parent of
// each directory it creates so that the new entry survives a crash.
// Concurrent creation of the same directory is fine.
Status MakeDirs(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return SyncDir(Parent(dir));
  if (errno == EEXIST) return Status::OK();
  if (errno != ENOENT) return StatusFromErrno(errno, "creating directory " + dir);
  const std::string parent = Parent(dir);
  if (parent == dir || parent == "." || parent == "/") {
    return StatusFromErrno(ENOENT, "creating directory " + dir);
  }
  CAIRN_RETURN_IF_ERROR(MakeDirs(parent));
  if (::mkdir(dir.c_str(), 0700) == 0) return SyncDir(parent);
  if (errno == EEXIST) return Status::OK();
  return StatusFromErrno(errno, "creating directory " + dir);
}

// 16 hex digits from the kernel's random source: unique enough that O_EXCL
// collisions are a formality.
std::string RandomSuffix() {
  uint8_t b[8];
  if (::getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    std::random_device rd;
    for (auto& x : b) x = static_cast<uint8_t>(rd());
  }
  return ToHex(ByteView(b, sizeof(b)));
}

// Creates a new temporary file in dir (creating dir when missing) and
// returns its descriptor; *tmp receives its path.
Result<int> CreateTemp(const std::string& dir, std::string* tmp, const std::string& path) {
  bool made_dirs = false;
  for (int tries = 0; tries < 16; ++tries) {
    *tmp = dir + "/" + std::string(LocalDirStore::kTempPrefix) + RandomSuffix();
    int fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (errno == EEXIST) continue;
    if (errno == ENOENT && !made_dirs) {
      made_dirs = true;
      CAIRN_RETURN_IF_ERROR(MakeDirs(dir));
      continue;
    }
    return Err(StatusFromErrno(errno, "creating a temporary file for " + path));
  }
  return Err(
      Status::IOError("creating a temporary file for " + path + ": every random name was taken"));
}

}  // namespace

LocalDirStore::LocalDirStore(std::string root) : root_(StripTrailingSlashes(std::move(root))) {}

Status LocalDirStore::CheckKey(std::string_view key) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid object key \"" + std::string(key) +
                                   "\": " + std::string(why));
  };
  if (key.empty()) return bad("empty");
  if (key.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (key.front() == '/') return bad("must be relative");
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view part = key.substr(start, end == std::string_view::npos ? end : end - start);
    if (part.empty()) return bad("empty path component");
    if (part == "." || part == "..") return bad("\".\" and \"..\" are not allowed");
    if (part.starts_with(kTempPrefix)) return bad("names starting with .tmp- are reserved");
    if (end == std::string_view::npos) return Status::OK();
    start = end + 1;
  }
}

std::string LocalDirStore::Path(std::string_view key) const {
  return root_ + "/" + std::string(key);
}

Result<Bytes> LocalDirStore::DoGet(std::string_view key, uint64_t offset, uint64_t length) {
  CAIRN_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = Path(key);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Err(StatusFromErrno(errno, "reading " + path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Err(StatusFromErrno(errno, "reading " + path));
  if (!S_ISREG(st.st_mode)) return Err(Status::NotFound(path + ": not an object (not a file)"));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    return Err(Status::OutOfRange("reading " + path + ": offset " + std::to_string(offset) +
                                  " is past the end (" + std::to_string(size) + " bytes)"));
  }
  const uint64_t n = std::min(length, size - offset);
  Bytes out(static_cast<size_t>(n));  // not zeroed: pread fills it
  // Short only when the file shrank meanwhile: return what exists.
  CAIRN_ASSIGN_OR_RETURN(size_t done, PReadFully(fd.get(), out.data(), out.size(), offset, path));
  out.resize(done);
  return out;
}

Result<ObjectInfo> LocalDirStore::Head(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = Path(key);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Err(StatusFromErrno(errno, "looking up " + path));
  if (!S_ISREG(st.st_mode)) return Err(Status::NotFound(path + ": not an object (not a file)"));
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size)};
}

Status LocalDirStore::List(std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  // Only the directory part of the prefix is walked; the rest filters the
  // names in that directory ("packs/3f/3f9" reads packs/3f/ only).
  const size_t slash = prefix.rfind('/');
  const std::string rel =
      slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash + 1));
  const std::string_view name_prefix =
      slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
  if (!rel.empty()) {
    Status s = CheckKey(std::string_view(rel).substr(0, rel.size() - 1));
    if (!s.ok()) {
      return Status::InvalidArgument("listing prefix \"" + std::string(prefix) +
                                     "\": " + s.message());
    }
  }
  const std::string dir = rel.empty() ? root_ : root_ + "/" + rel.substr(0, rel.size() - 1);
  return ListDir(dir, rel, name_prefix, fn);
}

Status LocalDirStore::ListDir(const std::string& dir, const std::string& rel,
                              std::string_view name_prefix,
                              const std::function<Status(const ObjectInfo&)>& fn) const {
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();  // nothing under the prefix
    return StatusFromErrno(errno, "listing " + dir);
  }
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return StatusFromErrno(errno, "listing " + dir);
      return Status::OK();
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == ".." || name.starts_with(kTempPrefix)) continue;
    if (!name.starts_with(name_prefix)) continue;
    struct stat st;
    if (::fstatat(dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted since readdir
      return StatusFromErrno(errno, "listing " + dir + "/" + std::string(name));
    }
    Status s;
    if (S_ISDIR(st.st_mode)) {
      s = ListDir(dir + "/" + std::string(name), rel + std::string(name) + "/", "", fn);
    } else if (S_ISREG(st.st_mode)) {
      s = fn(ObjectInfo{rel + std::string(name), static_cast<uint64_t>(st.st_size)});
    }
    if (!s.ok()) return s;
  }
}

Status LocalDirStore::DoPut(std::string_view key, ByteView data, const PutOptions& opts) {
  CAIRN_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = Path(key);
  const std::string dir = Parent(path);
  std::string tmp;
  CAIRN_ASSIGN_OR_RETURN(int raw_fd, CreateTemp(dir, &tmp, path));
  Fd fd(raw_fd);
  auto fail = [&](int err, std::string_view what) {
    ::unlink(tmp.c_str());
    return StatusFromErrno(err, std::string(what) + " " + path);
  };
  if (Status s = WriteFully(fd.get(), data.data(), data.size(), path); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // fdatasync also flushes the file size, all a new file needs.
  if (::fdatasync(fd.get()) != 0) return fail(errno, "syncing");
  if (int err = fd.Close(); err != 0) return fail(err, "writing");

  if (opts.if_not_exists) {
    int rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      // No RENAME_NOREPLACE here; link() refuses an existing name atomically too.
      rc = ::link(tmp.c_str(), path.c_str());
      if (rc == 0) ::unlink(tmp.c_str());
    }
    if (rc != 0) {
      if (errno == EEXIST) {
        ::unlink(tmp.c_str());
        return Status::AlreadyExists("storing " + path + ": the object already exists " +
                                     "(refused to overwrite it)");
      }
      return fail(errno, "storing");
    }
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(errno, "storing");
  }
  return SyncDir(dir);
}

namespace {

// Reports the temporary files in dir and below (rel: dir's name relative to
// the root, ending in '/' unless empty).
Status ListTemps(const std::string& dir, const std::string& rel,
                 const std::function<Status(const IncompleteWrite&)>& fn) {
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return StatusFromErrno(errno, "listing " + dir);
  }
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return StatusFromErrno(errno, "listing " + dir);
      return Status::OK();
    }
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // renamed into place or removed since readdir
      return StatusFromErrno(errno, "listing " + dir + "/" + name);
    }
    Status s;
    if (S_ISDIR(st.st_mode)) {
      s = ListTemps(dir + "/" + name, rel + name + "/", fn);
    } else if (S_ISREG(st.st_mode) && name.starts_with(LocalDirStore::kTempPrefix)) {
      s = fn(IncompleteWrite{rel + name, static_cast<uint64_t>(st.st_size),
                             TimespecToNs(st.st_mtim)});
    }
    if (!s.ok()) return s;
  }
}

}  // namespace

Status LocalDirStore::ListIncomplete(std::string_view prefix,
                                     const std::function<Status(const IncompleteWrite&)>& fn) const {
  const size_t slash = prefix.rfind('/');
  const std::string rel =
      slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash + 1));
  if (!rel.empty()) {
    Status s = CheckKey(std::string_view(rel).substr(0, rel.size() - 1));
    if (!s.ok()) return s;
  }
  const std::string dir = rel.empty() ? root_ : root_ + "/" + rel.substr(0, rel.size() - 1);
  return ListTemps(dir, rel, fn);
}

Status ListIncompleteWrites(ObjectStore& store, std::string_view prefix,
                            const std::function<Status(const IncompleteWrite&)>& fn) {
  ObjectStore* s = &store;
  while (auto* wrapper = dynamic_cast<ForwardingStore*>(s)) s = &wrapper->target();
  if (auto* local = dynamic_cast<LocalDirStore*>(s)) return local->ListIncomplete(prefix, fn);
  return Status::OK();
}

Status LocalDirStore::Delete(std::string_view key) {
  CAIRN_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = Path(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return StatusFromErrno(errno, "deleting " + path);
  }
  return Status::OK();
}

}  // namespace cairn
