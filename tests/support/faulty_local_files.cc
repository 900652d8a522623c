#include "tests/support/faulty_local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/file_io.h"

namespace cairn {
namespace {

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string StripSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace

std::string_view FileOpName(FileOp op) {
  static constexpr std::string_view kNames[kFileOpCount] = {
      "open", "read", "write", "sync", "truncate", "close",
      "rename", "unlink", "syncdir", "createdir", "statfs"};
  return kNames[static_cast<size_t>(op)];
}

FaultyLocalFiles::FaultyLocalFiles(LocalFiles& base) : LocalFilesWrapper(base) {}

void FaultyLocalFiles::FailNth(FileOp op, uint64_t k, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(Pending{op, calls_[static_cast<size_t>(op)] + k, err});
}

void FaultyLocalFiles::NoSpaceAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_left_ = bytes;
}

void FaultyLocalFiles::ShortReads(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  short_reads_ = max;
}

void FaultyLocalFiles::ShortWrites(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  short_writes_ = max;
}

void FaultyLocalFiles::CrashAt(uint64_t n, std::function<void()> crash) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_at_ = n;
  crash_ = std::move(crash);
}

void FaultyLocalFiles::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
  space_left_ = kUnlimited;
  short_reads_ = short_writes_ = 0;
  crash_at_ = 0;
  crash_ = nullptr;
}

uint64_t FaultyLocalFiles::Calls(FileOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

uint64_t FaultyLocalFiles::TotalCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_calls_;
}

uint64_t FaultyLocalFiles::BytesWritten() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_written_;
}

uint64_t FaultyLocalFiles::InjectedFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

int FaultyLocalFiles::BeginLocked(FileOp op, bool* crash) {
  const uint64_t n = ++calls_[static_cast<size_t>(op)];
  ++total_calls_;
  *crash = crash_at_ != 0 && total_calls_ == crash_at_ && crash_;
  if (*crash && op != FileOp::kWrite) {
    *crash = false;
    crash_();
  }
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->op == op && it->at == n) {
      int err = it->err;
      pending_.erase(it);
      ++injected_;
      return err;
    }
  }
  return 0;
}

std::optional<FaultyLocalFiles::InodeKey> FaultyLocalFiles::KeyOfPath(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return InodeKey{st.st_dev, st.st_ino};
}

std::optional<Bytes> FaultyLocalFiles::ReadAllPath(const std::string& path, bool follow) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
  if (!fd.valid()) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::nullopt;
  Bytes out(static_cast<size_t>(st.st_size));
  auto got = PReadFully(fd.get(), out.data(), out.size(), 0, path);
  if (!got) return std::nullopt;
  out.resize(*got);
  return out;
}

Bytes FaultyLocalFiles::ReadAllFd(int fd) {
  // The descriptor may be write-only: read the same inode through /proc
  // (a magic symlink, so it must be followed).
  return ReadAllPath("/proc/self/fd/" + std::to_string(fd), true).value_or(Bytes());
}

void FaultyLocalFiles::RememberNameLocked(const std::string& path) {
  if (durable_names_.count(path)) return;
  auto key = KeyOfPath(path);
  if (key && !synced_.count(*key)) synced_[*key] = ReadAllPath(path).value_or(Bytes());
  durable_names_[path] = key;
}

int FaultyLocalFiles::DoOpen(const std::string& path, OpenMode mode, unsigned perm, int* fd) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kOpen, &crash)) return err;
  // Every mode but kRead may write (kReadWrite included): track the name
  // and the inode's synced contents.
  if (mode != OpenMode::kRead) RememberNameLocked(path);
  if (int err = LocalFilesWrapper::DoOpen(path, mode, perm, fd)) return err;
  struct stat st;
  if (::fstat(*fd, &st) == 0) {
    InodeKey key{st.st_dev, st.st_ino};
    // Not tracked yet: created just now, so a power cut leaves it empty.
    if (mode != OpenMode::kRead) synced_.try_emplace(key);
    open_[*fd] = key;
  }
  return 0;
}

int FaultyLocalFiles::DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kRead, &crash)) return err;
  if (short_reads_) n = std::min(n, short_reads_);
  return LocalFilesWrapper::DoPRead(fd, buf, n, offset, moved);
}

int FaultyLocalFiles::DoPWrite(int fd, const void* buf, size_t n, uint64_t offset, size_t* moved) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  int err = BeginLocked(FileOp::kWrite, &crash);
  if (crash) {
    size_t half = 0;
    (void)LocalFilesWrapper::DoPWrite(fd, buf, n / 2, offset, &half);
    crash_();
  }
  if (err) return err;
  if (short_writes_) n = std::min(n, short_writes_);
  if (space_left_ != kUnlimited) {
    if (space_left_ == 0 && n > 0) {
      ++injected_;
      return ENOSPC;
    }
    n = static_cast<size_t>(std::min<uint64_t>(n, space_left_));
  }
  err = LocalFilesWrapper::DoPWrite(fd, buf, n, offset, moved);
  if (err == 0) {
    bytes_written_ += *moved;
    if (space_left_ != kUnlimited) space_left_ -= *moved;
  }
  return err;
}

int FaultyLocalFiles::DoSync(int fd, bool data_only) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kSync, &crash)) return err;
  if (int err = LocalFilesWrapper::DoSync(fd, data_only)) return err;
  auto it = open_.find(fd);
  if (it != open_.end()) synced_[it->second] = ReadAllFd(fd);
  return 0;
}

int FaultyLocalFiles::DoTruncate(int fd, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kTruncate, &crash)) return err;
  return LocalFilesWrapper::DoTruncate(fd, size);
}

int FaultyLocalFiles::DoClose(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  int injected = BeginLocked(FileOp::kClose, &crash);
  open_.erase(fd);
  int err = LocalFilesWrapper::DoClose(fd);  // the descriptor goes whatever is injected
  return injected ? injected : err;
}

int FaultyLocalFiles::DoRename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kRename, &crash)) return err;
  RememberNameLocked(from);
  RememberNameLocked(to);
  return LocalFilesWrapper::DoRename(from, to);
}

int FaultyLocalFiles::DoUnlink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kUnlink, &crash)) return err;
  RememberNameLocked(path);
  return LocalFilesWrapper::DoUnlink(path);
}

int FaultyLocalFiles::DoSyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kSyncDir, &crash)) return err;
  if (int err = LocalFilesWrapper::DoSyncDir(dir)) return err;
  const std::string d = StripSlashes(dir);
  for (auto& [name, key] : durable_names_) {
    if (ParentOf(name) != d) continue;
    key = KeyOfPath(name);
    // A file that arrived by other means counts as synced as it is.
    if (key && !synced_.count(*key)) synced_[*key] = ReadAllPath(name).value_or(Bytes());
  }
  return 0;
}

int FaultyLocalFiles::DoCreateDir(const std::string& path, unsigned perm) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kCreateDir, &crash)) return err;
  return LocalFilesWrapper::DoCreateDir(path, perm);
}

int FaultyLocalFiles::DoStatFs(const std::string& path, FsSpace* out) {
  std::lock_guard<std::mutex> lock(mu_);
  bool crash;
  if (int err = BeginLocked(FileOp::kStatFs, &crash)) return err;
  return LocalFilesWrapper::DoStatFs(path, out);
}

void FaultyLocalFiles::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  // Names that were not durably bound go first, so that a durable name is
  // rewritten last whatever the renames between them.
  for (const auto& [name, key] : durable_names_) {
    struct stat st;
    if (!key && ::lstat(name.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) ::unlink(name.c_str());
  }
  for (const auto& [name, key] : durable_names_) {
    if (!key) continue;
    const Bytes& contents = synced_[*key];
    ::unlink(name.c_str());  // a fresh inode: no other name shares the reverted bytes
    Fd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.valid()) (void)WriteFully(fd.get(), contents.data(), contents.size(), name);
  }
  // What is on disk now is what survived: it all counts as synced.
  durable_names_.clear();
  synced_.clear();
  open_.clear();
}

}  // namespace cairn
