// HeadStaging: the data half of head/ (doc/format.md, "Head journal"): the
// bytes written into head/ and not yet stored in the repository, one sparse
// file per inode, <staging dir>/data/<inode number, 16 hex digits>, written
// at the file's own offsets. Which ranges of a staging file hold data is
// recorded by the tree in the journal (fs/head_record.h), not here: the
// parts of a staging file outside those ranges are meaningless.
//
// No descriptor is held per staged file: at most `max_open` staging files
// are open at once (least recently used closed first), whatever the number
// of files staged (the machine's open-file limit is 20,000).
//
// All I/O goes through LocalFiles (common/local_files.h), so tests inject
// a full disk, I/O errors, short transfers and power cuts.
//
// Errors: NoSpace (the disk is full: nothing already staged is harmed),
// IOError, each naming the staging file.
//
// Thread safety: every method may be called concurrently; calls on the
// same inode are serialised by the caller (the tree) where their order
// matters.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/id.h"
#include "common/local_files.h"
#include "common/status.h"

namespace cairn {

// A byte range [offset, offset + length) of a file.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
  bool operator==(const ByteRange&) const = default;
};

class HeadStaging {
 public:
  // Creates <dir>/data when missing. files must outlive the staging.
  static Result<std::unique_ptr<HeadStaging>> Open(const std::string& dir, LocalFiles& files,
                                                   size_t max_open = 64);
  ~HeadStaging();

  const std::string& dir() const { return dir_; }
  // The staging file of ino (for messages).
  std::string PathOf(uint64_t ino) const;

  // Writes data at offset of ino's staging file (created when missing).
  Status Write(uint64_t ino, uint64_t offset, std::span<const uint8_t> data);
  // Reads out.size() bytes at offset; bytes past the staging file's end
  // read as zeros (a range recorded by the tree is never past it unless the
  // file was damaged, see Verify).
  Status Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out);
  // Cuts ino's staging file to size (a truncate of the head/ file).
  Status Truncate(uint64_t ino, uint64_t size);
  // Deletes ino's staging file; OK when there is none.
  Status Remove(uint64_t ino);
  // fdatasync of ino's staging file (none: OK).
  Status DataSync(uint64_t ino);
  // SHA-256 of the bytes of ranges, in order, concatenated; NotFound when
  // the staging file is missing and ranges are not empty, OutOfRange when a
  // range lies past its end (both: the data was lost).
  Result<Id> Hash(uint64_t ino, std::span<const ByteRange> ranges);
  // Inode numbers of every staging file present (recovery: files the
  // journal does not know are leftovers to remove).
  Result<std::vector<uint64_t>> List();
  // Space of the file system holding the staging directory.
  Result<FsSpace> Space();

 private:
  HeadStaging(std::string dir, LocalFiles& files, size_t max_open)
      : dir_(std::move(dir)), files_(files), max_open_(max_open) {}
  // An open handle of ino's staging file (created when create).
  Result<std::shared_ptr<LocalFile>> Handle(uint64_t ino, bool create);
  void Drop(uint64_t ino);

  const std::string dir_;
  LocalFiles& files_;
  const size_t max_open_;
  std::mutex mu_;  // guards lru_ and open_
  std::list<std::pair<uint64_t, std::shared_ptr<LocalFile>>> lru_;  // most recent first
  std::unordered_map<uint64_t, decltype(lru_)::iterator> open_;
  // A staging file may have been created since data/ was last synced:
  // DataSync then syncs data/ too, so the new name survives a power cut.
  std::atomic<bool> dir_dirty_{false};
};

}  // namespace cairn
