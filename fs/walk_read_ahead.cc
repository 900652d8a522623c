#include "fs/walk_read_ahead.h"

namespace cairn {

std::shared_ptr<ContentReader::Sequence> WalkReadAhead::SequenceOf(const Id& tree) {
  std::shared_ptr<ContentReader::Sequence> evicted;  // its destructor calls the reader: unlocked
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = seqs_.begin(); it != seqs_.end(); ++it) {
    if (it->first == tree) {
      seqs_.splice(seqs_.begin(), seqs_, it);
      return seqs_.front().second;
    }
  }
  seqs_.emplace_front(tree, reader_.NewSequence());
  if (seqs_.size() > kSequences) {
    evicted = std::move(seqs_.back().second);
    seqs_.pop_back();
  }
  return seqs_.front().second;
}

void WalkReadAhead::Opened(const Id& tree, uint64_t dir_ino, uint64_t ordinal) {
  auto seq = SequenceOf(tree);
  reader_.Opened(*seq, ordinal,
                 [&](uint64_t from, const ContentReader::UpcomingNodeFn& fn) -> Status {
                   return Upcoming(dirs_, tree, dir_ino, from, fn);
                 });
}

bool WalkReadAhead::EntriesBelow(Dirs& dirs, const Id& subtree, uint64_t pos,
                                 const ContentReader::UpcomingNodeFn& fn) {
  bool more = true;
  Status s = dirs.Scan(subtree, 0, [&](uint64_t, Node&& n) {
    return more = fn(pos, n, /*own=*/false);
  });
  return s.ok() ? more : true;
}

Status WalkReadAhead::Upcoming(Dirs& dirs, const Id& tree, uint64_t dir_ino, uint64_t from,
                               const ContentReader::UpcomingNodeFn& fn) {
  if (from > kAfterDir) return Status::OK();
  bool more = true;
  if (from < kAfterDir) {
    Status s = dirs.Scan(tree, from, [&](uint64_t ord, Node&& n) {
      more = n.type == NodeType::kDir ? EntriesBelow(dirs, n.subtree, ord, fn) : fn(ord, n, true);
      return more;
    });
    if (!s.ok() || !more) return s;
  }
  // The last subdirectory of a directory is followed by what follows that
  // directory in its own parent.
  uint64_t up = dir_ino;
  for (int level = 0; level < kLevelsUp && more; ++level) {
    auto place = dirs.PlaceOf(up);
    if (!place) break;
    Status s = dirs.Scan(place->parent_tree, place->ordinal + 1, [&](uint64_t, Node&& n) {
      more = n.type == NodeType::kDir ? EntriesBelow(dirs, n.subtree, kAfterDir, fn)
                                      : fn(kAfterDir, n, false);
      return more;
    });
    if (!s.ok()) return s;
    up = place->parent;
  }
  return Status::OK();
}

}  // namespace cairn
