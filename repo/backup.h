// Backup: walk -> read -> chunk -> hash -> dedup -> compress -> encrypt ->
// pack -> store, using all cores (doc/format.md has what is stored). The
// calling thread walks a Source (repo/source.h: the local file system,
// standard input, later head/); file readers (chunking, hashing) and blob
// encoders run on pools; packs upload on BlobSaver's threads. A TreeSaver
// writes a directory's tree as soon as its last child is done, so nothing
// waits for a whole level.
//
// Files unchanged since the parent snapshot (same type, size, mtime, ctime,
// inode, and all blobs in the index) are not read again; unchanged
// directories therefore encode to the same tree id. A directory the Source
// knows to be unchanged keeps the parent's tree id without being visited.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/source.h"

namespace cairn {

struct BackupOptions {
  // Absolute, normalised (no trailing '/'), in the source's namespace; the
  // snapshot records them. Only they and what lies below them are read.
  std::vector<std::string> paths;
  std::string series;    // empty: "<hostname>:<paths joined by ','>"
  std::string hostname;  // empty: this host
  std::vector<std::string> tags;
  std::optional<Id> parent;  // empty: the latest snapshot of the series
  bool force_read = false;   // read every file even when unchanged
  size_t threads = 0;        // 0: one per core
  // Packs uploading at once while chunking goes on; 0: BlobSaver's default.
  // For S3 the CLI sets it to --connections, so every connection is busy.
  size_t upload_threads = 0;
};

// Counters a progress display polls. Written by the engine's threads.
struct BackupProgress {
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};   // logical bytes of files done
  std::atomic<uint64_t> files_total{0};  // from the concurrent scan
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<bool> scan_done{false};
  std::atomic<bool> want_scan{false};    // set by the caller to run the scan
};

// Receives one call per skipped or suspicious item, from any thread.
class BackupObserver {
 public:
  virtual ~BackupObserver() = default;
  // The item was not backed up (unreadable, vanished...).
  virtual void Skipped(const std::string& path, const Status& why) = 0;
  // Backed up, but with a caveat (changed while being read...).
  virtual void Warning(const std::string& path, const std::string& what) = 0;
};

struct BackupResult {
  Snapshot snapshot;
  uint64_t skipped = 0;
  // Directories whose tree was encoded in this run (a tree the Source
  // reported unchanged is reused, not encoded).
  uint64_t trees_written = 0;
};

// Backs up opts.paths of source into a new snapshot. skipped > 0 when some
// items could not be read: the snapshot is written without them and each was
// reported to the observer (a source that does not SkipUnreadable fails
// instead). Cancelled when *cancel became true: no snapshot is written, but
// stored packs are indexed for the next run.
Result<BackupResult> RunBackup(Repository& repo, Source& source, const BackupOptions& opts,
                               BackupProgress* progress, BackupObserver* observer,
                               const std::atomic<bool>* cancel);
// The same over the local file system, without excludes.
Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& opts,
                               BackupProgress* progress, BackupObserver* observer,
                               const std::atomic<bool>* cancel);

// Series name used when none is given.
std::string DefaultSeries(const std::string& hostname, const std::vector<std::string>& paths);

}  // namespace cairn
