// LocalFiles: the local-disk seam (model: LevelDB include/leveldb/env.h).
//
// Every local file cairn writes for its own purposes goes through one of
// these: the blob cache's slabs, restored files, and later head/ staging.
// The shipped implementation is LocalFiles::Posix(), the plain system
// calls. Tests inject tests/support/faulty_local_files.h instead, which can
// fail any operation (ENOSPC, EIO, short writes, the k-th call of a kind),
// simulate a power cut ("everything not fsynced is lost") and kill the
// process at its N-th operation (tests/support/crash_harness.h). LMDB
// environments do their own I/O and are not behind this seam.
//
// Shape: users call the Status-returning methods (errno mapped by
// StatusFromErrno, messages "<verb> <path>: <strerror>"). Implementations
// override the Do* primitives, one system call each, returning 0 or an
// errno; the loops over short reads/writes and EINTR live here, once, so a
// fault-injecting implementation exercises the real ones. Wrappers derive
// from LocalFilesWrapper and override only what they change.
//
// Cost: an Open is one open(2) plus moving the caller's path string into
// the handle (no copy); PRead/PWrite are one virtual call per system call,
// no allocation.
//
// Thread safety: every LocalFiles method may be called concurrently, and
// implementations must allow it. A LocalFile handle is used by one thread at
// a time (or shared read-only for PRead); it must not outlive the
// LocalFiles that opened it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

enum class OpenMode : unsigned char {
  kRead,       // an existing file, read only
  kWrite,      // write only; created with perm when missing, contents kept
  kCreateNew,  // write only, a new file: AlreadyExists when the name exists
               // (a symlink included: it is never followed)
  kReadWrite,  // read and write; created with perm when missing, contents
               // kept; a symlink at the last component is never followed
               // (IOError), so a planted link cannot redirect the writes
};

// What statfs(2) reports, in bytes.
struct FsSpace {
  uint64_t total = 0;
  uint64_t available = 0;  // to an unprivileged writer
};

class LocalFiles;

// An open local file: move-only, closed on destruction (errors then
// ignored; call Close() to see them).
class LocalFile {
 public:
  LocalFile() = default;
  ~LocalFile();
  LocalFile(LocalFile&& o) noexcept;
  LocalFile& operator=(LocalFile&& o) noexcept;
  LocalFile(const LocalFile&) = delete;
  LocalFile& operator=(const LocalFile&) = delete;

  bool is_open() const { return fd_ >= 0; }
  // The descriptor, for calls outside the seam on this same file (fchmod,
  // futimens); -1 when closed. Never close it directly.
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Reads n bytes at offset, fewer only at end of file; returns how many.
  Result<size_t> PRead(void* buf, size_t n, uint64_t offset) const;
  // Writes all of data at offset. On error a prefix may have been written.
  Status PWrite(ByteView data, uint64_t offset);
  Status Sync();      // fsync: contents and metadata are durable
  Status DataSync();  // fdatasync: contents (and the size) are durable
  Status Truncate(uint64_t size);
  // Closes now; the handle is closed afterwards even when this fails.
  Status Close();

 private:
  friend class LocalFiles;
  LocalFile(LocalFiles* files, int fd, std::string path)
      : files_(files), fd_(fd), path_(std::move(path)) {}

  LocalFiles* files_ = nullptr;
  int fd_ = -1;
  std::string path_;
};

class LocalFiles {
 public:
  virtual ~LocalFiles() = default;

  // The real file system: stateless, lives as long as the program.
  static LocalFiles& Posix();

  // Takes path by value so a caller's temporary moves into the handle.
  Result<LocalFile> Open(std::string path, OpenMode mode, unsigned perm = 0600);
  // rename(2): replaces `to` atomically. Durable after SyncDir of both parents.
  Status Rename(const std::string& from, const std::string& to);
  // NotFound when absent. Durable after SyncDir of the parent.
  Status Unlink(const std::string& path);
  // Makes the directory's entries (creates, renames, unlinks) durable. File
  // systems that refuse fsync on a directory (EINVAL) count as done.
  Status SyncDir(const std::string& dir);
  // One directory (not its parents); OK when it already exists.
  Status CreateDir(const std::string& path, unsigned perm = 0700);
  Result<FsSpace> StatFs(const std::string& path);

 protected:
  friend class LocalFile;
  friend class LocalFilesWrapper;

  // The primitives: one system call each, 0 or an errno. DoPRead/DoPWrite
  // may move fewer than n bytes (*moved), like pread/pwrite; EINTR may be
  // returned and is retried by the caller. DoClose releases fd whatever it
  // returns.
  virtual int DoOpen(const std::string& path, OpenMode mode, unsigned perm, int* fd) = 0;
  virtual int DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) = 0;
  virtual int DoPWrite(int fd, const void* buf, size_t n, uint64_t offset, size_t* moved) = 0;
  virtual int DoSync(int fd, bool data_only) = 0;
  virtual int DoTruncate(int fd, uint64_t size) = 0;
  virtual int DoClose(int fd) = 0;
  virtual int DoRename(const std::string& from, const std::string& to) = 0;
  virtual int DoUnlink(const std::string& path) = 0;
  virtual int DoSyncDir(const std::string& dir) = 0;
  virtual int DoCreateDir(const std::string& path, unsigned perm) = 0;
  virtual int DoStatFs(const std::string& path, FsSpace* out) = 0;
};

// Forwards every primitive to a target (LevelDB's EnvWrapper): a wrapper
// overrides only what it changes.
class LocalFilesWrapper : public LocalFiles {
 public:
  // target must outlive the wrapper.
  explicit LocalFilesWrapper(LocalFiles& target) : target_(target) {}
  LocalFiles& target() const { return target_; }

 protected:
  int DoOpen(const std::string& path, OpenMode mode, unsigned perm, int* fd) override {
    return target_.DoOpen(path, mode, perm, fd);
  }
  int DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) override {
    return target_.DoPRead(fd, buf, n, offset, moved);
  }
  int DoPWrite(int fd, const void* buf, size_t n, uint64_t offset, size_t* moved) override {
    return target_.DoPWrite(fd, buf, n, offset, moved);
  }
  int DoSync(int fd, bool data_only) override { return target_.DoSync(fd, data_only); }
  int DoTruncate(int fd, uint64_t size) override { return target_.DoTruncate(fd, size); }
  int DoClose(int fd) override { return target_.DoClose(fd); }
  int DoRename(const std::string& from, const std::string& to) override {
    return target_.DoRename(from, to);
  }
  int DoUnlink(const std::string& path) override { return target_.DoUnlink(path); }
  int DoSyncDir(const std::string& dir) override { return target_.DoSyncDir(dir); }
  int DoCreateDir(const std::string& path, unsigned perm) override {
    return target_.DoCreateDir(path, perm);
  }
  int DoStatFs(const std::string& path, FsSpace* out) override {
    return target_.DoStatFs(path, out);
  }

 private:
  LocalFiles& target_;
};

}  // namespace cairn
