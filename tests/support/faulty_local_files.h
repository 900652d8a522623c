// FaultyLocalFiles: wraps a LocalFiles (the real file system by default) and
// injects the faults a local disk has (model: LevelDB's
// db/fault_injection_test.cc and tests/support/faulty_store.h):
//
//   FaultyLocalFiles disk;                       // over LocalFiles::Posix()
//   disk.FailNth(FileOp::kWrite, 3, EIO);        // the 3rd write from now fails
//   disk.NoSpaceAfter(1 << 20);                  // the disk fills after 1 MiB
//   disk.ShortWrites(7);                         // every pwrite moves <= 7 bytes
//   disk.CrashAt(40, [] { raise(SIGKILL); });    // die at the 40th operation
//   ...
//   disk.DropUnsyncedData();                     // power cut: back to what was synced
//
// Faults combine; a call is counted, then may crash (CrashAt), then may fail
// (FailNth), then is limited (ShortReads/ShortWrites/NoSpaceAfter). Injected
// errnos go through LocalFiles' real errno-to-Status mapping and its real
// retry loops.
//
// Power cut model (DropUnsyncedData): a file's contents revert to what they
// were at its last Sync/DataSync (a file that existed before this wrapper
// first touched it counts as synced as it was then; files opened kWrite,
// kCreateNew and kReadWrite alike); a name's binding
// (created, renamed onto, renamed away, unlinked) reverts to what it was at
// the last SyncDir of its parent. Tracked per inode, so a synced file that
// is renamed keeps its synced contents under whichever name is durable.
// Directories themselves are not tracked (a created directory survives), and
// hard links to a tracked file come back as separate copies.
//
// Thread safety: every method may be called from any thread; operations are
// serialised by mu_ (a test double: simplicity over speed). The CrashAt
// callback runs under mu_ and must not call back into this object.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/local_files.h"

namespace cairn {

enum class FileOp {
  kOpen,
  kRead,
  kWrite,
  kSync,
  kTruncate,
  kClose,
  kRename,
  kUnlink,
  kSyncDir,
  kCreateDir,
  kStatFs,
};
inline constexpr size_t kFileOpCount = 11;
// "open", "read", "write", ...
std::string_view FileOpName(FileOp op);

class FaultyLocalFiles final : public LocalFilesWrapper {
 public:
  static constexpr uint64_t kUnlimited = UINT64_MAX;

  // base must outlive this wrapper.
  explicit FaultyLocalFiles(LocalFiles& base = LocalFiles::Posix());

  // --- Faults ---

  // The k-th call of op counted from now (k = 1: the next one) fails with
  // err (an errno: ENOSPC, EIO, EACCES...) without reaching the base.
  void FailNth(FileOp op, uint64_t k, int err);
  // Writes from now on fail with ENOSPC once `bytes` more have been written:
  // the write that crosses the line moves what fits (a short write), the
  // next one fails. kUnlimited turns this off.
  void NoSpaceAfter(uint64_t bytes);
  // Every read/write primitive moves at most max bytes (0: off), so callers
  // must loop; nothing fails.
  void ShortReads(size_t max);
  void ShortWrites(size_t max);
  // Before the n-th operation counted from construction (1-based, over all
  // kinds; see TotalCalls), calls crash(). When that operation is a write,
  // its first half is written before crash() runs (a torn write). If crash
  // returns, the operation then proceeds. n = 0 turns this off.
  void CrashAt(uint64_t n, std::function<void()> crash);
  // Removes every fault; counters and power-cut tracking are kept.
  void ClearFaults();

  // --- Power cut ---

  // Reverts every file and name this wrapper touched to its synced state
  // (see the model above) and forgets all tracking, so that what is on disk
  // afterwards counts as synced. Call it with no file open through this
  // wrapper (the machine is off).
  void DropUnsyncedData();

  // --- Counters (faulty calls included) ---

  uint64_t Calls(FileOp op) const;
  uint64_t TotalCalls() const;
  uint64_t BytesWritten() const;     // moved by successful write primitives
  uint64_t InjectedFailures() const;  // FailNth and NoSpaceAfter failures

 protected:
  int DoOpen(const std::string& path, OpenMode mode, unsigned perm, int* fd) override;
  int DoPRead(int fd, void* buf, size_t n, uint64_t offset, size_t* moved) override;
  int DoPWrite(int fd, const void* buf, size_t n, uint64_t offset, size_t* moved) override;
  int DoSync(int fd, bool data_only) override;
  int DoTruncate(int fd, uint64_t size) override;
  int DoClose(int fd) override;
  int DoRename(const std::string& from, const std::string& to) override;
  int DoUnlink(const std::string& path) override;
  int DoSyncDir(const std::string& dir) override;
  int DoCreateDir(const std::string& path, unsigned perm) override;
  int DoStatFs(const std::string& path, FsSpace* out) override;

 private:
  struct InodeKey {
    dev_t dev = 0;
    ino_t ino = 0;
    auto operator<=>(const InodeKey&) const = default;
  };
  struct Pending {
    FileOp op;
    uint64_t at;  // value of Calls(op) at which it fires
    int err;
  };

  // Counts a call of op; returns the injected errno (0: none). Sets *crash
  // when this call is the CrashAt one. Caller holds mu_.
  int BeginLocked(FileOp op, bool* crash);
  // Records what a power cut would bring back at path before it changes.
  void RememberNameLocked(const std::string& path);
  // The current contents of an open file or of a path (empty when absent).
  Bytes ReadAllFd(int fd);
  static std::optional<Bytes> ReadAllPath(const std::string& path, bool follow = false);
  static std::optional<InodeKey> KeyOfPath(const std::string& path);

  mutable std::mutex mu_;
  uint64_t calls_[kFileOpCount] = {};         // GUARDED_BY(mu_)
  uint64_t total_calls_ = 0;                  // GUARDED_BY(mu_)
  uint64_t bytes_written_ = 0;                // GUARDED_BY(mu_)
  uint64_t injected_ = 0;                     // GUARDED_BY(mu_)
  std::vector<Pending> pending_;              // GUARDED_BY(mu_)
  uint64_t space_left_ = kUnlimited;          // GUARDED_BY(mu_)
  size_t short_reads_ = 0, short_writes_ = 0;  // GUARDED_BY(mu_)
  uint64_t crash_at_ = 0;                     // GUARDED_BY(mu_)
  std::function<void()> crash_;               // GUARDED_BY(mu_)

  // Power-cut tracking. GUARDED_BY(mu_).
  std::map<InodeKey, Bytes> synced_;  // contents a power cut reverts the inode to
  std::map<std::string, std::optional<InodeKey>> durable_names_;  // nullopt: absent
  std::map<int, InodeKey> open_;      // fds opened through this wrapper
};

}  // namespace cairn
