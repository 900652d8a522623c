// ContentReader's read-ahead across the files of a Sequence (the contract
// is at the top of content_reader.h). Lock order: Sequence::mu_, then
// ContentReader::mu_; no fetch runs under either.
#include <algorithm>

#include "repo/content_reader.h"

namespace cairn {
namespace {

constexpr uint64_t kFirstWindow = 128 << 10;  // bytes ahead after a first open
constexpr size_t kMaxFilesAhead = 256;        // files scheduled ahead at most
constexpr size_t kMaxScan = 1024;             // nodes looked at per top-up
constexpr uint64_t kAdjacent = 2;             // a forward step this small opens "in order"
constexpr int kMaxCredit = 8;
constexpr int kMinCredit = -8;

// Bytes of content of xs, holes not counted.
uint64_t ContentBytes(std::span<const Extent> xs) {
  uint64_t n = 0;
  for (const Extent& x : xs) n += x.hole ? 0 : x.length;
  return n;
}

}  // namespace

size_t ContentReader::Sequence::OwnAheadLocked() const {
  return static_cast<size_t>(
      std::count_if(ahead_.begin(), ahead_.end(), [](const Ahead& a) { return a.own; }));
}

ContentReader::Sequence::~Sequence() {
  std::lock_guard<std::mutex> lock(mu_);
  if (const size_t own = OwnAheadLocked(); own > 0) reader_->AdjustCredit(0, own);
}

std::unique_ptr<ContentReader::Sequence> ContentReader::NewSequence() {
  return std::unique_ptr<Sequence>(new Sequence(this));
}

void ContentReader::AdjustCredit(size_t opened_ahead, size_t wasted) {
  if (opened_ahead == 0 && wasted == 0) return;
  const int delta = static_cast<int>(std::min<size_t>(opened_ahead, kMaxCredit)) -
                    static_cast<int>(std::min<size_t>(wasted, -kMinCredit));
  int c = credit_.load(std::memory_order_relaxed);
  while (!credit_.compare_exchange_weak(c, std::clamp(c + delta, kMinCredit, kMaxCredit),
                                        std::memory_order_relaxed)) {
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.prefetch_wasted += wasted;
}

uint64_t ContentReader::AcquireAhead(std::span<const Extent> xs, uint64_t max_bytes,
                                     std::vector<Want>& todo) {
  const size_t todo_begin = todo.size();
  uint64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Extent& x : xs) {
      if (bytes >= max_bytes) break;
      if (x.hole) continue;
      bytes += x.length;
      if (RamFindLocked(x.blob) || inflight_.count(x.blob)) continue;  // cached: kept longer
      Want w;
      w.id = x.blob;
      w.promise = std::make_shared<std::promise<Result<Plain>>>();
      inflight_.emplace(x.blob, InFlight{w.promise->get_future().share(), Fetcher::kPrefetch});
      todo.push_back(std::move(w));
    }
  }
  Locate(todo, todo_begin);
  return bytes;
}

void ContentReader::Opened(Sequence& seq, uint64_t pos, const UpcomingFn& upcoming) {
  const uint64_t cap = std::min(opts_.max_prefetch_bytes, opts_.memory_cache_bytes / 8);
  if (cap == 0) return;
  const uint64_t first = std::min(cap, kFirstWindow);
  const bool credit = credit_.load(std::memory_order_relaxed) > 0;
  std::vector<Want> todo;
  size_t opened_ahead = 0, wasted = 0, files = 0;
  {
    std::lock_guard<std::mutex> lock(seq.mu_);
    if (!seq.started_) {
      seq.started_ = true;
      seq.window_ = credit ? first : 0;
      seq.next_pos_ = pos + 1;
    } else if (pos == seq.last_pos_) {
      return;  // the same file again: nothing new to fetch
    } else if (pos < seq.last_pos_) {
      // Backwards: random access. Stop; what was fetched ahead is wasted.
      wasted = seq.OwnAheadLocked();
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
      wasted = skipped;
      const bool adjacent = skipped == 0 && pos - seq.last_pos_ <= kAdjacent;
      // Opened in order (fetched ahead, or the next file or so): credit,
      // even while the window is off, so a reader that turns sequential
      // after random opens gets read-ahead back.
      opened_ahead = hit || adjacent ? 1 : 0;
      if (hit) {
        seq.window_ = std::min(cap, std::max(first, seq.window_ * 2));
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
    if (seq.window_ > 0) {
      // Not this file: its read follows at once and fetches what is not
      // cached itself, while the next files are fetched on other threads.
      uint64_t ahead = 0;
      for (const auto& a : seq.ahead_) ahead += a.bytes;
      if (ahead < seq.window_ / 2 && !seq.exhausted_ && seq.ahead_.size() < kMaxFilesAhead) {
        // Nodes first, blobs after: no index lookup runs inside the
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
        for (auto& [p, n, own] : next) {
          if (ahead >= seq.window_) {  // the rest waits for the next top-up
            seq.next_pos_ = p;
            seq.exhausted_ = false;
            break;
          }
          // Whole files (a file beyond the window: its first window's
          // worth; in-file read-ahead does the rest once it is read), so
          // ahead stays under twice the window.
          const uint64_t b = AcquireAhead(n.content, seq.window_, todo);
          seq.ahead_.push_back({p, b, own});
          ahead += b;
          if (own) ++files;  // a foreign one is counted by its own Sequence
        }
      }
    }
  }
  AdjustCredit(opened_ahead, wasted);
  if (files > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.prefetch_files += files;
  }
  Fetch(std::move(todo), Fetcher::kPrefetch);
}

}  // namespace cairn
