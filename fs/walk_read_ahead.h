// WalkReadAhead: read-ahead across the files of a walk (tar, cp -r, rsync,
// grep -r read a directory's files in readdir order and descend into its
// subdirectories where they come). Each directory being read is a
// ContentReader::Sequence whose positions are entry ordinals; when a file
// is opened, the reader asks for the files that come next in walk order
// (Upcoming) and fetches their blobs in the background.
//
// Walk order after the file at ordinal `from` of a directory:
//   1. the directory's entries from `from` on: a file is its own (own=true,
//      pos = its ordinal); a subdirectory contributes the entries directly
//      in it (own=false, pos = the subdirectory's ordinal: a walker opens
//      them in the subdirectory's own Sequence);
//   2. past the end, the entries after the directory in its parent, and
//      the entries directly in those that are directories (own=false, pos
//      = kAfterDir), and so on up, at most kLevelsUp levels, never above a
//      snapshot root. A tar of /usr/share/doc reads thousands of small
//      directories, each but for this a synchronous fetch of its first
//      file.
// Only decoded directories are scanned (a tree not decoded yet is never
// waited for); the reader skips what is not a regular file and bounds the
// entries it takes per top-up, so every entry is passed on.
//
// Thread safety: Opened and Upcoming may be called concurrently; the table
// of Sequences has its own mutex, never held while calling the reader or
// the Dirs.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "common/id.h"
#include "common/status.h"
#include "repo/content_reader.h"
#include "repo/tree.h"

namespace cairn {

class WalkReadAhead {
 public:
  // What the read-ahead needs of the tree being walked (SnapshotTree).
  class Dirs {
   public:
    // Calls fn(ordinal, node) for the decoded entries of the directory
    // rooted at tree from ordinal `from` on until fn returns false; OK with
    // no calls when the directory is not decoded.
    virtual Status Scan(const Id& tree, uint64_t from,
                        const std::function<bool(uint64_t, Node&&)>& fn) = 0;
    // Where directory ino is an entry: its parent's tree, its ordinal
    // there and the parent's number; empty for a snapshot root (or when
    // unknown).
    struct Place {
      Id parent_tree;
      uint64_t ordinal = 0;
      uint64_t parent = 0;
    };
    virtual std::optional<Place> PlaceOf(uint64_t dir_ino) = 0;

   protected:
    ~Dirs() = default;
  };

  // Position of the entries after the directory, in its parent (foreign
  // and past every ordinal; from > kAfterDir: nothing further).
  static constexpr uint64_t kAfterDir = ~uint64_t{0} - 1;
  static constexpr int kLevelsUp = 3;
  // Sequences kept: a walk keeps the directories above the one it reads.
  static constexpr size_t kSequences = 64;

  // reader and dirs must outlive this.
  WalkReadAhead(ContentReader& reader, Dirs& dirs) : reader_(reader), dirs_(dirs) {}

  // The file at ordinal of directory tree (inode dir_ino) was opened.
  void Opened(const Id& tree, uint64_t dir_ino, uint64_t ordinal);
  // The walk order after it in dirs, from `from` on (see above): what
  // Opened gives the reader. Stops when fn returns false.
  static Status Upcoming(Dirs& dirs, const Id& tree, uint64_t dir_ino, uint64_t from,
                         const ContentReader::UpcomingNodeFn& fn);

 private:
  std::shared_ptr<ContentReader::Sequence> SequenceOf(const Id& tree);
  // fn(pos, entry, own=false) for the entries directly in subtree until fn
  // returns false (the result); true when it cannot be read.
  static bool EntriesBelow(Dirs& dirs, const Id& subtree, uint64_t pos,
                           const ContentReader::UpcomingNodeFn& fn);

  ContentReader& reader_;
  Dirs& dirs_;
  std::mutex mu_;  // guards seqs_
  // Directory tree -> its Sequence, most recently opened first.
  std::list<std::pair<Id, std::shared_ptr<ContentReader::Sequence>>> seqs_;
};

}  // namespace cairn
