// BackupRun: one run of RunBackup. Internal to repo/backup.cc (setting up,
// writing the snapshot) and repo/backup_walk.cc (the walk over the Source).
//
// Threads: the calling thread walks the named paths; walker threads list
// subdirectories in parallel; reader threads read files (FileReader), the
// encoder pool compresses and encrypts big chunks, BlobSaver uploads packs;
// whichever thread finishes a directory's last entry writes its tree
// (TreeSaver). Counters are atomics; fatal_ is the one guarded state.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "repo/backup.h"
#include "repo/blob_saver.h"
#include "repo/file_reader.h"
#include "repo/tree_saver.h"

namespace cairn {

// One backup: walks the source on the calling thread and on walker
// threads, reads files on reader threads, and hands directories to a
// TreeSaver.
class BackupRun {
 public:
  // The directories above the backed-up paths ("virtual" directories: only
  // the named children are backed up).
  struct VirtualDir {
    std::map<std::string, VirtualDir> children;
    bool target = false;  // the path itself was named: back up all below it
  };
  using Dir = TreeSaver::Dir;

  BackupRun(Repository& repo, Source& source, const BackupOptions& opts,
            BackupProgress* progress, BackupObserver* observer, const std::atomic<bool>* cancel)
      : repo_(repo),
        source_(source),
        opts_(opts),
        progress_(progress ? progress : &own_progress_),
        observer_(observer),
        cancel_(cancel) {}

  Result<BackupResult> Run();

 private:
  bool Cancelled() const {
    return failed_.load(std::memory_order_relaxed) ||
           (cancel_ && cancel_->load(std::memory_order_relaxed));
  }
  void Fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fatal_.ok()) fatal_ = s;
    failed_.store(true);
  }
  // path could not be read: reported and left out, or the end of the run
  // for a source that does not skip.
  void Unreadable(const std::string& path, const Status& why) {
    if (!source_.SkipUnreadable()) return Fail(why);
    if (why.Is(ErrorCode::kCancelled)) return;
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (observer_) observer_->Skipped(path, why);
  }
  void Skip(Dir* d, size_t slot, const std::string& path, const Status& why) {
    d->Drop(slot);
    Unreadable(path, why);
  }
  // Node metadata from info, owner names included.
  void FillNode(const EntryInfo& info, Node& node) {
    FillNodeFromInfo(info, node);
    node.user = source_.UserName(info.uid);
    node.group = source_.GroupName(info.gid);
  }
  // Counts node in the snapshot's acl_entries when it carries a POSIX ACL.
  void CountAcl(const Node& node) {
    if (std::any_of(node.xattrs.begin(), node.xattrs.end(), [](const Xattr& x) {
          return x.name.starts_with("system.posix_acl_");
        })) {
      acl_entries_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  Result<VirtualDir> NamedPaths();
  Result<std::optional<Snapshot>> FindParent(const std::string& series);
  void StartWorkers();
  Id Walk(const VirtualDir& root, const std::optional<Snapshot>& parent);
  void WalkDir(Dir* d, const EntryInfo& info, const VirtualDir* virt,
               const std::vector<Node>* parent_nodes, uint64_t root_dev);
  void VisitEntry(Dir* d, size_t slot, const std::string& name, bool is_virtual,
                  const VirtualDir* virt, const Node* prev, uint64_t root_dev);
  // Counts a file kept without reading it (unchanged, or content the
  // source knows).
  void CountUnmodified(uint64_t size);
  bool ReuseUnchanged(Dir* d, size_t slot, const std::string& path, const EntryInfo& info,
                      const Node* prev);
  void WalkChild(Dir* d, size_t slot, std::string path, const EntryInfo& info,
                 const VirtualDir* virt, const Node* prev, uint64_t root_dev);
  void ReadFileJob(Dir* d, size_t slot, const std::string& path, const EntryInfo& info,
                   bool changed);
  std::vector<Node> LoadParentTree(const Id& subtree);
  void Scan(const std::string& path, const EntryInfo& top);
  Result<BackupResult> SaveSnapshot(int64_t start, const std::string& host,
                                    const std::string& series,
                                    const std::optional<Snapshot>& parent, const Id& root);

  Repository& repo_;
  Source& source_;
  const BackupOptions& opts_;
  BackupProgress own_progress_;
  BackupProgress* progress_;
  BackupObserver* observer_;
  const std::atomic<bool>* cancel_;

  std::unique_ptr<BlobSaver> saver_;
  std::unique_ptr<ThreadPool> encoders_;
  std::unique_ptr<ThreadPool> readers_;
  std::unique_ptr<ThreadPool> walkers_;  // unbounded queue: walk tasks submit walk tasks
  std::unique_ptr<FileReader> file_reader_;
  std::unique_ptr<TreeSaver> trees_;

  std::mutex mu_;
  Status fatal_;  // GUARDED_BY(mu_)
  std::atomic<bool> failed_{false};

  std::atomic<uint64_t> acl_entries_{0};  // entries with a POSIX ACL
  std::atomic<uint64_t> files_{0}, dirs_{0}, others_{0}, bytes_{0}, new_{0}, changed_{0},
      unmodified_{0}, bytes_read_{0}, errors_{0};
};

}  // namespace cairn
