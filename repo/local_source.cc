#include "repo/local_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/clock.h"
#include "common/errno_status.h"

namespace cairn {

namespace {

// A regular file open for reading. The descriptor lives as long as the
// object; path is the caller's (Source::Open's contract).
class LocalSourceFile final : public SourceFile {
 public:
  LocalSourceFile(int fd, const std::string& path, const EntryInfo& info, bool sparse)
      : SourceFile(info, info.size, sparse), fd_(fd), path_(path) {}
  ~LocalSourceFile() override { ::close(fd_); }

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    for (;;) {
      ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Err(StatusFromErrno(errno, "reading " + path_));
    }
  }
  Result<std::optional<uint64_t>> SeekData(uint64_t offset) override {
    off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (data >= 0) return static_cast<uint64_t>(data);
    if (errno == ENXIO) return std::nullopt;  // no data after offset
    return Err(StatusFromErrno(errno, "seeking data in " + path_));
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    off_t hole = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
    if (hole < 0) return Err(StatusFromErrno(errno, "seeking hole in " + path_));
    return static_cast<uint64_t>(hole);
  }
  Result<uint64_t> SeekEnd() override {
    off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0) return Err(StatusFromErrno(errno, "seeking in " + path_));
    return static_cast<uint64_t>(end);
  }
  bool ChangedWhileRead(uint64_t bytes_read) override {
    struct stat after;
    if (::fstat(fd_, &after) != 0) return false;
    auto info = EntryInfoFromStat(after);
    return info && FileChangedWhileRead(this->info(), *info, bytes_read);
  }

 private:
  const int fd_;
  const std::string& path_;
};

}  // namespace

std::optional<EntryInfo> EntryInfoFromStat(const struct stat& st) {
  auto type = TypeFromMode(st.st_mode);
  if (!type) return std::nullopt;
  EntryInfo info;
  info.type = *type;
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = TimespecToNs(st.st_mtim);
  info.ctime_ns = TimespecToNs(st.st_ctim);
  info.atime_ns = TimespecToNs(st.st_atim);
  info.device = st.st_dev;
  info.inode = st.st_ino;
  info.nlink = static_cast<uint32_t>(st.st_nlink);
  info.rdev = static_cast<uint64_t>(st.st_rdev);
  return info;
}

bool FileChangedWhileRead(const EntryInfo& before, const EntryInfo& after, uint64_t bytes) {
  return after.size != before.size || after.mtime_ns != before.mtime_ns ||
         after.ctime_ns != before.ctime_ns || bytes != before.size;
}

LocalSource::LocalSource(LocalSourceOptions opts)
    : matcher_(std::move(opts.excludes)), one_file_system_(opts.one_file_system) {}

Result<EntryInfo> LocalSource::Stat(const std::string& path, bool follow) {
  struct stat st;
  int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return Err(StatusFromErrno(errno, path));
  auto info = EntryInfoFromStat(st);
  if (!info) return Err(Status::InvalidArgument(path + ": unknown file type"));
  return *info;
}

Result<std::vector<std::string>> LocalSource::List(const std::string& path,
                                                   const EntryInfo& /*dir*/) {
  return ReadDirNames(path);
}

Result<std::string> LocalSource::ReadLink(const std::string& path, const EntryInfo& info) {
  std::string target(static_cast<size_t>(info.size) + 1, '\0');
  ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  if (n < 0) return Err(StatusFromErrno(errno, "reading link " + path));
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<std::vector<Xattr>> LocalSource::ReadXattrs(const std::string& path,
                                                   const EntryInfo& /*info*/) {
  return cairn::ReadXattrs(path);
}

Result<std::unique_ptr<SourceFile>> LocalSource::Open(const std::string& path,
                                                      const EntryInfo& /*info*/) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  // O_NOATIME needs ownership (or CAP_FOWNER): without it, open normally.
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Err(StatusFromErrno(errno, "opening " + path));
  struct stat st;
  std::optional<EntryInfo> info;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) info = EntryInfoFromStat(st);
  if (!info) {
    ::close(fd);
    return Err(Status::IOError(path + ": no longer a regular file"));
  }
  const bool sparse = st.st_size > 0 &&
                      static_cast<uint64_t>(st.st_blocks) * 512 < static_cast<uint64_t>(st.st_size);
  if (!sparse) (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<LocalSourceFile>(fd, path, *info, sparse);
}

}  // namespace cairn
