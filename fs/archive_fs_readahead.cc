// ArchiveFs's part of read-ahead across files (archive_fs.h): a directory
// being read is a ContentReader::Sequence whose positions are entry
// ordinals.
#include <functional>

#include "fs/archive_fs.h"
#include "fs/archive_fs_internal.h"

namespace cairn {

std::shared_ptr<ContentReader::Sequence> ArchiveFs::SequenceOf(const Id& tree) {
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

void ArchiveFs::ReadAheadFrom(const Resolved& r) {
  const Id tree = r.parent_tree;
  auto seq = SequenceOf(tree);
  reader_.Opened(*seq, r.ordinal,
                 [&](uint64_t from, const std::function<bool(uint64_t, const Node&)>& fn) {
                   return ScanEntries(tree, from, [&](uint64_t ord, Node&& n, uint64_t) {
                     return fn(ord, n);
                   });
                 });
}

}  // namespace cairn
