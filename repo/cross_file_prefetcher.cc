// Lock order: PrefetchSequence::mu_, then whatever `claim` takes; no fetch
// runs under either.
#include "repo/cross_file_prefetcher.h"

#include <algorithm>
#include <vector>

namespace cairn {
namespace {

// Bytes of content of xs, holes not counted.
uint64_t ContentBytes(std::span<const Extent> xs) {
  uint64_t n = 0;
  for (const Extent& x : xs) n += x.hole ? 0 : x.length;
  return n;
}

}  // namespace

size_t PrefetchSequence::OwnAheadLocked() const {
  return static_cast<size_t>(
      std::count_if(ahead_.begin(), ahead_.end(), [](const Ahead& a) { return a.own; }));
}

PrefetchSequence::~PrefetchSequence() {
  std::lock_guard<std::mutex> lock(mu_);
  if (const size_t own = OwnAheadLocked(); own > 0) owner_->AdjustCredit(0, own);
}

std::unique_ptr<PrefetchSequence> CrossFilePrefetcher::NewSequence() {
  return std::unique_ptr<PrefetchSequence>(new PrefetchSequence(this));
}

void CrossFilePrefetcher::AdjustCredit(size_t opened_ahead, size_t wasted) {
  if (opened_ahead == 0 && wasted == 0) return;
  const int delta = static_cast<int>(std::min<size_t>(opened_ahead, kMaxCredit)) -
                    static_cast<int>(std::min<size_t>(wasted, -kMinCredit));
  int c = credit_.load(std::memory_order_relaxed);
  while (!credit_.compare_exchange_weak(c, std::clamp(c + delta, kMinCredit, kMaxCredit),
                                        std::memory_order_relaxed)) {
  }
  wasted_.fetch_add(wasted, std::memory_order_relaxed);
}

bool CrossFilePrefetcher::StepLocked(PrefetchSequence& seq, uint64_t pos, bool credit,
                                     Step& step) const {
  const uint64_t first = std::min(max_window_, kFirstWindow);
  if (!seq.started_) {
    seq.started_ = true;
    seq.window_ = credit ? first : 0;
    seq.next_pos_ = pos + 1;
  } else if (pos == seq.last_pos_) {
    return false;  // the same file again: nothing new to fetch
  } else if (pos < seq.last_pos_) {
    // Backwards: random access. Stop; what was fetched ahead is wasted.
    step.wasted = seq.OwnAheadLocked();
    seq.ahead_.clear();
    seq.window_ = 0;
    seq.next_pos_ = pos + 1;
    seq.exhausted_ = false;
  } else {
    bool hit = false;
    size_t skipped = 0;
    while (!seq.ahead_.empty() && seq.ahead_.front().pos <= pos) {
      if (!seq.ahead_.front().own) {
        // Opened elsewhere, or not: not this Sequence's to judge.
      } else if (seq.ahead_.front().pos == pos) {
        hit = true;
      } else {
        ++skipped;  // fetched ahead, passed over
      }
      seq.ahead_.pop_front();
    }
    step.wasted = skipped;
    const bool adjacent = skipped == 0 && pos - seq.last_pos_ <= kAdjacent;
    // Opened in order (fetched ahead, or the next file or so): credit,
    // even while the window is off, so a reader that turns sequential
    // after random opens gets read-ahead back.
    step.opened_ahead = hit || adjacent ? 1 : 0;
    if (hit) {
      seq.window_ = std::min(max_window_, std::max(first, seq.window_ * 2));
    } else if (skipped > 0) {
      seq.window_ = seq.window_ / 2 < first ? 0 : seq.window_ / 2;
    } else if (seq.window_ == 0 && credit && adjacent) {
      seq.window_ = first;  // forward again after a stop: start small
    }
    if (pos >= seq.next_pos_) {  // past everything scheduled
      seq.next_pos_ = pos + 1;
      seq.exhausted_ = false;
    }
  }
  seq.last_pos_ = pos;
  return true;
}

size_t CrossFilePrefetcher::TopUpLocked(PrefetchSequence& seq, const UpcomingFn& upcoming,
                                        const ClaimFn& claim) const {
  // Not the file opened: its read follows at once and fetches what is not
  // cached itself, while the next files are fetched on other threads.
  uint64_t ahead = 0;
  for (const auto& a : seq.ahead_) ahead += a.bytes;
  if (ahead >= seq.window_ / 2 || seq.exhausted_ || seq.ahead_.size() >= kMaxFilesAhead) return 0;
  // Nodes first, blobs after: no claim (index lookups) runs inside the
  // producer's scan.
  struct Next {
    uint64_t pos;
    Node node;
    bool own;
  };
  std::vector<Next> next;
  size_t scanned = 0;
  uint64_t planned = ahead;
  bool stopped = false;
  Status s = upcoming(seq.next_pos_, [&](uint64_t p, const Node& n, bool own) {
    ++scanned;
    seq.next_pos_ = p + 1;
    if (n.type == NodeType::kFile && n.size > 0) {
      planned += ContentBytes(n.content);
      next.push_back(Next{p, n, own});
    }
    stopped = planned >= seq.window_ || seq.ahead_.size() + next.size() >= kMaxFilesAhead ||
              scanned >= kMaxScan;
    return !stopped;
  });
  if (s.ok() && !stopped) seq.exhausted_ = true;
  size_t files = 0;
  for (auto& [p, n, own] : next) {
    if (ahead >= seq.window_) {  // the rest waits for the next top-up
      seq.next_pos_ = p;
      seq.exhausted_ = false;
      break;
    }
    // Whole files (a file beyond the window: its first window's worth;
    // in-file read-ahead does the rest once it is read), so ahead stays
    // under twice the window.
    const uint64_t b = claim(n.content, seq.window_);
    seq.ahead_.push_back({p, b, own});
    ahead += b;
    if (own) ++files;  // a foreign one is counted by its own Sequence
  }
  return files;
}

void CrossFilePrefetcher::Opened(PrefetchSequence& seq, uint64_t pos, const UpcomingFn& upcoming,
                                 const ClaimFn& claim) {
  if (max_window_ == 0) return;
  const bool credit = credit_.load(std::memory_order_relaxed) > 0;
  Step step;
  size_t files = 0;
  {
    std::lock_guard<std::mutex> lock(seq.mu_);
    if (!StepLocked(seq, pos, credit, step)) return;
    if (seq.window_ > 0) files = TopUpLocked(seq, upcoming, claim);
  }
  AdjustCredit(step.opened_ahead, step.wasted);
  if (files > 0) files_.fetch_add(files, std::memory_order_relaxed);
}

}  // namespace cairn
