// SnapshotTree's part of read-ahead across files (snapshot_tree.h): a directory
// being read is a ContentReader::Sequence whose positions are entry
// ordinals.
#include <functional>

#include "fs/snapshot_tree.h"

namespace cairn {

std::shared_ptr<ContentReader::Sequence> SnapshotTree::SequenceOf(const Id& tree) {
  std::shared_ptr<ContentReader::Sequence> evicted;  // its destructor calls the reader: unlocked
  std::lock_guard<std::mutex> lock(seq_mu_);
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

// Positions of the files after the directory, in its parent (foreign, and
// past every ordinal; one more than it: nothing further).
constexpr uint64_t kAfterDir = ~uint64_t{0} - 1;
constexpr int kLevelsUp = 3;

bool SnapshotTree::FilesBelow(const Id& subtree, uint64_t pos, const ContentReader::UpcomingNodeFn& fn) {
  // A tree not decoded (yet) has no entries to scan: it is never waited for.
  bool more = true;
  // Every entry goes to fn (which skips what is not a file), so the
  // reader's bound on nodes scanned per top-up holds here too.
  Status s = ScanEntries(subtree, 0, [&](uint64_t, Node&& n, uint64_t) {
    return more = fn(pos, n, /*own=*/false);
  });
  return s.ok() ? more : true;
}

void SnapshotTree::ReadAheadFrom(const Resolved& r) {
  const Id tree = r.parent_tree;
  auto seq = SequenceOf(tree);
  // In walk order: the directory's files from the opened one on, and where
  // a subdirectory comes, its files (a walker descends into it there; they
  // are foreign: opened in the subdirectory's Sequence). Past the end, the
  // entries that follow the directory in its parent, and the files of those
  // that are directories, and so on up (a tar of /usr/share/doc reads
  // thousands of small directories, each but for read-ahead a synchronous
  // fetch of its first file). One level down, kLevelsUp up, from decoded
  // directories only.
  reader_.Opened(*seq, r.ordinal, [&](uint64_t from, const ContentReader::UpcomingNodeFn& fn) -> Status {
    if (from > kAfterDir) return Status::OK();
    bool more = true;
    if (from < kAfterDir) {
      Status s = ScanEntries(tree, from, [&](uint64_t ord, Node&& n, uint64_t) {
        more = n.type == NodeType::kDir ? FilesBelow(n.subtree, ord, fn) : fn(ord, n, true);
        return more;
      });
      if (!s.ok() || !more) return s;
    }
    // Up to kLevelsUp levels: the last subdirectory of a directory is
    // followed by what follows that directory in its own parent.
    uint64_t up = r.parent;
    for (int level = 0; level < kLevelsUp && more; ++level) {
      auto dir = Resolve(up);  // the directory, as an entry of its parent
      if (!dir || dir->root) break;
      Status s = ScanEntries(dir->parent_tree, dir->ordinal + 1, [&](uint64_t, Node&& n, uint64_t) {
        more = n.type == NodeType::kDir ? FilesBelow(n.subtree, kAfterDir, fn)
                                        : fn(kAfterDir, n, false);
        return more;
      });
      if (!s.ok()) return s;
      up = dir->parent;
    }
    return Status::OK();
  });
}

}  // namespace cairn
