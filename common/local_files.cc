#include "common/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "common/errno_status.h"
#include "common/file_io.h"

namespace cairn {
namespace {

int ErrnoOf(int rc) { return rc == 0 ? 0 : errno; }

class PosixLocalFiles final : public LocalFiles {
 protected:
  int DoOpen(const std::string& path, OpenMode mode, unsigned perm, int* fd) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead: flags |= O_RDONLY; break;
      case OpenMode::kWrite: flags |= O_WRONLY | O_CREAT; break;
      case OpenMode::kCreateNew: flags |= O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW; break;
      case OpenMode::kReadWrite: flags |= O_RDWR | O_CREAT | O_NOFOLLOW; break;
    }
    *fd = ::open(path.c_str(), flags, static_cast<mode_t>(perm));
    return *fd < 0 ? errno : 0;
  }
  int DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) override {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0) return errno;
    *moved = static_cast<size_t>(r);
    return 0;
  }
  int DoPWrite(int fd, const void* buf, size_t n, uint64_t offset, size_t* moved) override {
    ssize_t w = ::pwrite(fd, buf, n, static_cast<off_t>(offset));
    if (w < 0) return errno;
    *moved = static_cast<size_t>(w);
    return 0;
  }
  int DoSync(int fd, bool data_only) override {
    return ErrnoOf(data_only ? ::fdatasync(fd) : ::fsync(fd));
  }
  int DoTruncate(int fd, uint64_t size) override {
    return ErrnoOf(::ftruncate(fd, static_cast<off_t>(size)));
  }
  int DoClose(int fd) override { return ErrnoOf(::close(fd)); }
  int DoRename(const std::string& from, const std::string& to) override {
    return ErrnoOf(::rename(from.c_str(), to.c_str()));
  }
  int DoUnlink(const std::string& path) override { return ErrnoOf(::unlink(path.c_str())); }
  int DoSyncDir(const std::string& dir) override {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return errno;
    return ErrnoOf(::fsync(fd.get()));
  }
  int DoCreateDir(const std::string& path, unsigned perm) override {
    return ErrnoOf(::mkdir(path.c_str(), static_cast<mode_t>(perm)));
  }
  int DoStatFs(const std::string& path, FsSpace* out) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return errno;
    out->total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    out->available = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    return 0;
  }
};

}  // namespace

// ---- LocalFile ----

LocalFile::~LocalFile() { (void)Close(); }

LocalFile::LocalFile(LocalFile&& o) noexcept
    : files_(o.files_), fd_(o.fd_), path_(std::move(o.path_)) {
  o.files_ = nullptr;
  o.fd_ = -1;
}

LocalFile& LocalFile::operator=(LocalFile&& o) noexcept {
  if (this != &o) {
    (void)Close();
    files_ = o.files_;
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.files_ = nullptr;
    o.fd_ = -1;
  }
  return *this;
}

Result<size_t> LocalFile::PRead(void* buf, size_t n, uint64_t offset) const {
  auto* p = static_cast<uint8_t*>(buf);
  size_t got = 0;
  int err = TransferFully(n, &got, [&](size_t done) -> ssize_t {
    size_t moved = 0;
    if (int e = files_->DoPRead(fd_, p + done, n - done, offset + done, &moved)) {
      errno = e;
      return -1;
    }
    return static_cast<ssize_t>(moved);
  });
  if (err) return Err(StatusFromErrno(err, "reading", path_));
  return got;
}

Status LocalFile::PWrite(ByteView data, uint64_t offset) {
  size_t put = 0;
  const size_t n = data.size();
  int err = TransferFully(n, &put, [&](size_t done) -> ssize_t {
    size_t moved = 0;
    int e = files_->DoPWrite(fd_, data.data() + done, n - done, offset + done, &moved);
    if (e == 0 && moved == 0) e = EIO;  // never spin on a write that moves nothing
    if (e) {
      errno = e;
      return -1;
    }
    return static_cast<ssize_t>(moved);
  });
  return err ? StatusFromErrno(err, "writing", path_) : Status::OK();
}

Status LocalFile::Sync() {
  int err = files_->DoSync(fd_, false);
  return err ? StatusFromErrno(err, "syncing", path_) : Status::OK();
}

Status LocalFile::DataSync() {
  int err = files_->DoSync(fd_, true);
  return err ? StatusFromErrno(err, "syncing", path_) : Status::OK();
}

Status LocalFile::Truncate(uint64_t size) {
  int err = files_->DoTruncate(fd_, size);
  return err ? StatusFromErrno(err, "setting the size of", path_) : Status::OK();
}

Status LocalFile::Close() {
  if (fd_ < 0) return Status::OK();
  int err = files_->DoClose(fd_);
  fd_ = -1;
  return err ? StatusFromErrno(err, "writing", path_) : Status::OK();
}

// ---- LocalFiles ----

LocalFiles& LocalFiles::Posix() {
  static PosixLocalFiles posix;  // stateless: nothing in it ever changes
  return posix;
}

Result<LocalFile> LocalFiles::Open(std::string path, OpenMode mode, unsigned perm) {
  int fd = -1;
  if (int err = DoOpen(path, mode, perm, &fd)) {
    return Err(StatusFromErrno(err, mode == OpenMode::kRead ? "opening" : "creating", path));
  }
  return LocalFile(this, fd, std::move(path));
}

Status LocalFiles::Rename(const std::string& from, const std::string& to) {
  int err = DoRename(from, to);
  return err ? StatusFromErrno(err, "renaming " + from + " to", to) : Status::OK();
}

Status LocalFiles::Unlink(const std::string& path) {
  int err = DoUnlink(path);
  return err ? StatusFromErrno(err, "deleting", path) : Status::OK();
}

Status LocalFiles::SyncDir(const std::string& dir) {
  int err = DoSyncDir(dir);
  if (err == EINVAL) return Status::OK();  // this file system cannot sync directories
  return err ? StatusFromErrno(err, "syncing directory", dir) : Status::OK();
}

Status LocalFiles::CreateDir(const std::string& path, unsigned perm) {
  int err = DoCreateDir(path, perm);
  if (err == EEXIST) return Status::OK();
  return err ? StatusFromErrno(err, "creating directory", path) : Status::OK();
}

Result<FsSpace> LocalFiles::StatFs(const std::string& path) {
  FsSpace space;
  if (int err = DoStatFs(path, &space)) return Err(StatusFromErrno(err, "measuring free space of", path));
  return space;
}

}  // namespace cairn
