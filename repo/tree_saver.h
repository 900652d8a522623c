// TreeSaver: assembles the directories of a backup and writes their trees
// bottom-up, each as soon as its last entry is final, so nothing waits for
// a whole level and a directory's tree is written once.
//
// A walker makes a Dir per directory it lists (Root, then Child), fills one
// node per entry, and holds the Dir once for every entry still in flight
// (a file being read on another thread, a subdirectory being walked). The
// thread that drops the last hold writes the tree, stores its id in the
// parent's node and releases the parent; the root's id ends Wait().
//
// An unchanged subtree is never rebuilt: the walker gives its node the id
// from the parent snapshot (Reuse) and makes no Dir for it, so nothing below
// it is listed, read or encoded. Only the directories on the path from a
// changed entry to the root are encoded again; that is what makes sealing a
// barely changed head/ cheap.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/id.h"
#include "common/status.h"
#include "repo/tree.h"

namespace cairn {

class TreeSaver {
 public:
  // Stores the tree of one directory (nodes sorted by name and unique) and
  // returns its root blob id; path names the directory in errors. Called on
  // whichever thread finishes the directory, possibly many at once.
  using WriteFn = std::function<Result<Id>(std::span<const Node> nodes, const std::string& path)>;
  // True once the run stops (cancelled, or failed elsewhere): directories
  // finished after that are not written.
  using StoppedFn = std::function<bool()>;
  // Receives the error of a write that failed (the run must then stop).
  using FailFn = std::function<void(const Status&)>;

  // A directory being assembled. Its nodes are sized once, by the walker,
  // before the first Hold; afterwards each slot is written by one thread
  // before that thread's Release.
  class Dir {
   public:
    const std::string& path() const { return path_; }
    size_t size() const { return nodes_.size(); }
    void Resize(size_t n) {
      nodes_.resize(n);
      skip_.assign(n, 0);
    }
    Node& node(size_t slot) { return nodes_[slot]; }
    // Leaves the entry out of the tree (excluded, unreadable, cancelled).
    void Drop(size_t slot) { skip_[slot] = 1; }

   private:
    friend class TreeSaver;
    Dir(Dir* parent, size_t slot, std::string path)
        : parent_(parent), slot_(slot), path_(std::move(path)) {}

    Dir* const parent_;
    const size_t slot_;  // this directory's node in parent_->nodes_
    const std::string path_;
    std::vector<Node> nodes_;
    std::vector<char> skip_;
    // Entries in flight plus one for the walker while it lists the
    // directory; whoever drops it to zero finishes the directory.
    std::atomic<int> pending_{1};
  };

  // After Root, the saver must outlive the release of the root (Wait).
  TreeSaver(WriteFn write, StoppedFn stopped, FailFn fail);
  TreeSaver(const TreeSaver&) = delete;
  TreeSaver& operator=(const TreeSaver&) = delete;

  // The top directory, held once by the caller. Call once.
  Dir* Root(std::string path);
  // The directory of parent's entry slot, held once by the caller; parent
  // is held until the child is finished.
  Dir* Child(Dir* parent, size_t slot, std::string path);
  // Gives parent's entry slot a tree that already exists (an unchanged
  // subtree): it is used as it is, and nothing below it is visited.
  void Reuse(Dir* parent, size_t slot, const Id& subtree) { parent->node(slot).subtree = subtree; }
  // One more entry of d in flight.
  void Hold(Dir* d) { d->pending_.fetch_add(1, std::memory_order_relaxed); }
  // One entry of d (or the walker's listing) done. The last release writes
  // d's tree and frees d: d must not be used after the caller's last one.
  void Release(Dir* d) {
    if (d->pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) Finish(d);
  }

  // Blocks until the root is finished and returns its tree id; a zero id
  // when the run stopped or a write failed (the failure went to FailFn).
  Id Wait();
  // Directories whose tree was encoded and written (not those reused).
  uint64_t trees_written() const { return trees_written_.load(std::memory_order_relaxed); }

 private:
  void Finish(Dir* d);

  const WriteFn write_;
  const StoppedFn stopped_;
  const FailFn fail_;
  std::atomic<uint64_t> trees_written_{0};

  std::mutex mu_;
  std::condition_variable root_done_cv_;
  bool root_started_ = false;  // GUARDED_BY(mu_)
  bool root_done_ = false;     // GUARDED_BY(mu_)
  Id root_id_;                 // GUARDED_BY(mu_)
};

}  // namespace cairn
