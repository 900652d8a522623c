// TreePrefetcher: decodes directories into the TreeCache ahead of a walk.
//
// `find`, `tar`, `rsync` and `du` walk a snapshot one directory at a time:
// the kernel asks for a listing, waits, then descends. On a cold cache every
// listing costs a tree-blob read, a decode and an LMDB write while the
// walker waits, and on this kind of walk one core sits idle (the walker and
// the daemon take turns). ArchiveFs hands the prefetcher the subdirectories
// of every directory it lists from the start; worker threads decode them
// (and their children, down to a depth budget) so the walker's next
// listings find them decoded.
//
// Jobs run last-in first-out: a depth-first walker descends into the
// directory it listed last, so its children are needed first. The stack is
// bounded; beyond max_jobs the oldest jobs are dropped (a prefetch is only
// a hint: the walker decodes what is missing itself).
//
// Thread safety: Push may be called from any thread. The destructor stops
// the workers after the jobs they are running (queued ones are dropped).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/id.h"

namespace cairn {

class TreePrefetcher {
 public:
  struct Job {
    Id snap;              // the snapshot the directory belongs to
    uint64_t ino = 0;     // its inode number (already bound)
    uint64_t parent = 0;  // its parent's inode number
    Id tree;              // its tree
    int depth = 1;        // levels to decode from here (1: this one only)
  };
  using RunFn = std::function<void(const Job&)>;

  // run is called on a worker thread for every job taken; it may Push.
  TreePrefetcher(size_t threads, size_t max_jobs, RunFn run);
  ~TreePrefetcher();
  TreePrefetcher(const TreePrefetcher&) = delete;
  TreePrefetcher& operator=(const TreePrefetcher&) = delete;

  // Adds jobs; the last one of the batch runs first.
  void Push(std::vector<Job> jobs);

  // Blocks until no job is queued or running (tests: "the prefetcher has
  // done all it was asked to", which a job pushing more jobs extends).
  void WaitIdle();

 private:
  void Work();

  const size_t max_jobs_;
  const RunFn run_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // a job was pushed, or stop
  std::condition_variable idle_cv_;  // a job finished
  std::deque<Job> stack_;  // GUARDED_BY(mu_); back = next
  bool stop_ = false;      // GUARDED_BY(mu_)
  size_t running_ = 0;     // GUARDED_BY(mu_): jobs taken and not finished
  std::vector<std::thread> threads_;
};

}  // namespace cairn
