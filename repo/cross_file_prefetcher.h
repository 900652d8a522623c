// CrossFilePrefetcher: read-ahead across files. The caller says that files
// come in a sequence and will probably be opened in the order of their
// positions (fs/ keeps one Sequence per directory being read, positions
// being entry ordinals; nothing here knows of directories). When a file of
// a Sequence is opened, the blobs of the files after it are claimed for
// fetching ahead, up to a window of bytes:
//
// - Window: starts at kFirstWindow and doubles (up to max_window) each time
//   an opened file is one that was fetched ahead. Whole files are claimed
//   (a file larger than the window: its first window's worth), so what is
//   ahead stays under twice the window. A top-up runs when less than half
//   the window is ahead.
// - An open that goes backwards stops the window (what was ahead is
//   wasted); one that skips files fetched ahead halves it (to 0 below
//   kFirstWindow); opening the next file or so (kAdjacent) after a stop
//   starts it again at kFirstWindow, if there is credit.
// - Credit (shared by every Sequence of one prefetcher): files opened in
//   order earn it, files fetched ahead and never opened (wasted) cost it.
//   The first open of a new Sequence reads ahead only while credit > 0, so
//   random opens across many directories pay at most a few small windows.
// - Foreign files: `upcoming` may produce files that are not the
//   Sequence's own (what the caller expects to be read next but opened in
//   another Sequence, e.g. the first files of the next directories of a
//   walk). They are claimed within the same window, and dropped without
//   counting as opened or wasted once an own file at or past their
//   position is opened.
//
// What "claiming" and fetching mean is the caller's (ContentReader: an
// in-flight entry per blob, fetched on its pool); this class holds only
// the rules and the per-Sequence state, and never blocks on a fetch.
//
// Thread safety: thread-safe. Each Sequence's state has its own mutex,
// held while `upcoming` and `claim` run (so they must not call back into
// the Sequence); credit and counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "common/status.h"
#include "repo/tree.h"

namespace cairn {

class CrossFilePrefetcher;

// A sequence of files that will probably be opened in the order of their
// positions. Holds no blobs itself and no thread. Must not outlive its
// prefetcher.
class PrefetchSequence {
 public:
  // The current window in bytes (0: read-ahead across files is off).
  uint64_t window() const {
    std::lock_guard<std::mutex> lock(mu_);
    return window_;
  }
  // Own files fetched ahead and never opened count as wasted.
  ~PrefetchSequence();
  PrefetchSequence(const PrefetchSequence&) = delete;
  PrefetchSequence& operator=(const PrefetchSequence&) = delete;

 private:
  friend class CrossFilePrefetcher;
  explicit PrefetchSequence(CrossFilePrefetcher* owner) : owner_(owner) {}
  struct Ahead {  // a file claimed ahead of its open
    uint64_t pos = 0;
    uint64_t bytes = 0;  // of its content claimed (fetched or already cached)
    bool own = true;     // false: a foreign file
  };
  size_t OwnAheadLocked() const;  // entries of ahead_ that are own files

  CrossFilePrefetcher* const owner_;
  // Taken before (never inside) the claimer's locks.
  mutable std::mutex mu_;
  // All GUARDED_BY(mu_).
  bool started_ = false;     // a file was opened
  uint64_t last_pos_ = 0;    // position of the last file opened
  uint64_t window_ = 0;      // bytes to keep claimed ahead of last_pos_
  uint64_t next_pos_ = 0;    // the next position to ask `upcoming` for
  bool exhausted_ = false;   // `upcoming` had nothing from next_pos_ on
  std::deque<Ahead> ahead_;  // claimed, not opened yet; by position
};

class CrossFilePrefetcher {
 public:
  static constexpr uint64_t kFirstWindow = 128 << 10;  // bytes ahead after a first open
  static constexpr size_t kMaxFilesAhead = 256;        // files claimed ahead at most
  static constexpr size_t kMaxScan = 1024;             // nodes looked at per top-up
  static constexpr uint64_t kAdjacent = 2;             // a forward step this small opens "in order"
  static constexpr int kInitialCredit = 2;
  static constexpr int kMaxCredit = 8;
  static constexpr int kMinCredit = -8;

  // Produces the files of a sequence at positions >= from, in order: calls
  // fn(pos, node, own) until fn returns false or the sequence ends. Nodes
  // that are not regular files are skipped (the caller may pass a
  // directory's every entry). own is false for a foreign file, whose pos is
  // the position of the own entry it comes after (several may share one).
  // An error only ends this round of read-ahead.
  using UpcomingNodeFn = std::function<bool(uint64_t pos, const Node& node, bool own)>;
  using UpcomingFn = std::function<Status(uint64_t from, const UpcomingNodeFn& fn)>;
  // Claims the blobs of extents xs for fetching ahead, up to max_bytes of
  // content; returns the bytes of content claimed (blobs cached or being
  // fetched already included, holes not).
  using ClaimFn = std::function<uint64_t(std::span<const Extent> xs, uint64_t max_bytes)>;

  // max_window: the window's bound in bytes; 0 turns read-ahead off.
  explicit CrossFilePrefetcher(uint64_t max_window) : max_window_(max_window) {}
  CrossFilePrefetcher(const CrossFilePrefetcher&) = delete;
  CrossFilePrefetcher& operator=(const CrossFilePrefetcher&) = delete;

  std::unique_ptr<PrefetchSequence> NewSequence();

  // The file at position pos of seq was opened: updates the window and
  // claims the next files' blobs through claim (the caller then fetches
  // them). Never fails (an open must not fail for read-ahead).
  void Opened(PrefetchSequence& seq, uint64_t pos, const UpcomingFn& upcoming,
              const ClaimFn& claim);

  int credit() const { return credit_.load(std::memory_order_relaxed); }
  uint64_t files_claimed() const { return files_.load(std::memory_order_relaxed); }  // own ones
  uint64_t files_wasted() const { return wasted_.load(std::memory_order_relaxed); }

 private:
  friend class PrefetchSequence;
  struct Step {
    size_t opened_ahead = 0;  // 1 when pos was opened in order
    size_t wasted = 0;        // own files claimed ahead and passed over
  };
  // Moves seq to pos and applies the window rules. Caller holds seq.mu_.
  // Returns false when there is nothing new to do (the same file again).
  bool StepLocked(PrefetchSequence& seq, uint64_t pos, bool credit, Step& step) const;
  // Claims files after seq.last_pos_ while less than half the window is
  // ahead. Caller holds seq.mu_. Returns the own files claimed.
  size_t TopUpLocked(PrefetchSequence& seq, const UpcomingFn& upcoming, const ClaimFn& claim) const;
  // Files opened in order earn credit, wasted ones cost it (each call
  // moves it by at most kMaxCredit either way; it stays within
  // [kMinCredit, kMaxCredit]); wasted ones are counted.
  void AdjustCredit(size_t opened_ahead, size_t wasted);

  const uint64_t max_window_;
  std::atomic<int> credit_{kInitialCredit};
  std::atomic<uint64_t> files_{0};
  std::atomic<uint64_t> wasted_{0};
};

}  // namespace cairn
