#include "repo/stdin_source.h"

#include <unistd.h>

#include <cerrno>

#include "common/clock.h"
#include "common/errno_status.h"

namespace cairn {

namespace {

// Reads a descriptor from its start to its end: pread while it can seek
// (stdin redirected from a file), read once it turns out to be a pipe.
class StreamFile final : public SourceFile {
 public:
  StreamFile(int fd, const EntryInfo& info) : SourceFile(info, kToEnd, false), fd_(fd) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    for (;;) {
      ssize_t n = stream_ ? ::read(fd_, buf.data(), buf.size())
                          : ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno == ESPIPE && !stream_) {  // a pipe: read it in order
        stream_ = true;
        continue;
      }
      return Err(StatusFromErrno(errno, "reading standard input"));
    }
  }
  Result<uint64_t> SeekEnd() override {
    return Err(Status::Unsupported("standard input has no end to seek to"));
  }
  bool ChangedWhileRead(uint64_t /*bytes_read*/) override { return false; }

 private:
  const int fd_;
  bool stream_ = false;  // fd cannot seek: read() instead of pread()
};

}  // namespace

Result<std::unique_ptr<StdinSource>> StdinSource::Make(const std::string& name, int fd) {
  if (name.empty() || name.find('/') != std::string::npos) {
    return Err(Status::InvalidArgument("--stdin-name must be a plain file name"));
  }
  return std::unique_ptr<StdinSource>(new StdinSource("/" + name, fd));
}

StdinSource::StdinSource(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  info_.type = NodeType::kFile;
  info_.mode = 0644;
  info_.uid = geteuid();
  info_.gid = getegid();
  info_.mtime_ns = info_.ctime_ns = info_.atime_ns = NowNs();
}

Result<EntryInfo> StdinSource::Stat(const std::string& path, bool /*follow*/) {
  if (path != path_) return Err(Status::NotFound(path + ": not in the backup of standard input"));
  return info_;
}

Result<std::vector<std::string>> StdinSource::List(const std::string& path,
                                                   const EntryInfo& /*dir*/) {
  return Err(Status::NotADirectory(path + ": not a directory"));
}

Result<std::string> StdinSource::ReadLink(const std::string& path, const EntryInfo& /*info*/) {
  return Err(Status::InvalidArgument(path + ": not a symlink"));
}

Result<std::vector<Xattr>> StdinSource::ReadXattrs(const std::string& /*path*/,
                                                   const EntryInfo& /*info*/) {
  return std::vector<Xattr>{};
}

Result<std::unique_ptr<SourceFile>> StdinSource::Open(const std::string& path,
                                                      const EntryInfo& /*info*/) {
  CAIRN_ASSIGN_OR_RETURN(EntryInfo info, Stat(path, false));
  return std::unique_ptr<SourceFile>(new StreamFile(fd_, info));
}

}  // namespace cairn
