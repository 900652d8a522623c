// Source: the tree of entries a backup reads. The backup walker (backup.cc)
// sees files only through this interface, so one engine backs up the local
// file system (LocalSource), standard input (StdinSource) and, later, the
// head/ overlay of the mount, whose seal is "back up the head/ Source with
// the latest snapshot of the series as parent".
//
// Contract for implementations:
// - Entries are named by absolute paths in the source's own namespace
//   ("/", "/srv/a"); those are the paths a snapshot records. Every call also
//   passes the EntryInfo that Stat returned for the entry, so a source can
//   find it again by EntryInfo::handle without resolving the path (head/
//   keys its entries by inode number, which survives renames).
// - A source holds no open descriptor per entry between calls: only an open
//   SourceFile holds one, and the walker keeps about (reader threads) of
//   those open at once (the machine's open-file limit is 20,000).
// - Every method may be called from many threads at once (directories are
//   listed in parallel, files read in parallel, and a scan for the progress
//   display runs beside the walk).
// - Errors are Status values whose message names the entry; the walker
//   reports them and leaves the entry out (SkipUnreadable) or fails the run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/id.h"
#include "common/status.h"
#include "repo/tree.h"

namespace cairn {

// What Stat tells about an entry: the fields the walker compares with the
// parent snapshot's node, and those it records. Times in ns since the epoch.
struct EntryInfo {
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits (mask 07777)
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;  // files: content length; symlinks: target length
  int64_t mtime_ns = 0, ctime_ns = 0, atime_ns = 0;
  // Identity for hard links and for "unchanged since the parent" (together
  // with size and times). device is also the file system boundary that
  // --one-file-system stops at; a source without devices uses 0.
  uint64_t device = 0, inode = 0;
  uint32_t nlink = 1;
  uint64_t rdev = 0;  // char/block devices
  // Opaque to the walker: lets a source find the entry again without its
  // path (head/: its inode number). LocalSource leaves it 0.
  uint64_t handle = 0;
};

// Sets every metadata field of node that info determines (not name, user,
// group, xattrs, content, sha256, subtree), as the tree format keeps them:
// size only for files and symlinks, rdev only for devices, nlink 1 for
// directories.
void FillNodeFromInfo(const EntryInfo& info, Node& node);

// One open regular file, read by one thread at a time, from offset 0
// upwards. Closing it (destruction) releases whatever it holds.
class SourceFile {
 public:
  // limit() of a stream that is read until it ends.
  static constexpr uint64_t kToEnd = UINT64_MAX;

  SourceFile(const EntryInfo& info, uint64_t limit, bool sparse)
      : info_(info), limit_(limit), sparse_(sparse) {}
  virtual ~SourceFile() = default;
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;

  // The entry as opened: a file replaced or rewritten since Source::Stat
  // shows another inode or size here, and the walker records these.
  const EntryInfo& info() const { return info_; }
  // Bytes to read: the size when opened, so a file that keeps growing
  // cannot keep the backup reading; kToEnd for a stream.
  uint64_t limit() const { return limit_; }
  // True when the file may have holes worth finding with SeekData/SeekHole
  // (they become hole extents instead of stored zeros).
  bool sparse() const { return sparse_; }

  // Reads up to buf.size() bytes at offset; 0 at the end. Offsets of
  // successive calls are contiguous within a data region, so a stream may
  // ignore them. Retries EINTR itself.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) = 0;
  // lseek's SEEK_DATA / SEEK_HOLE / SEEK_END, called only when sparse():
  // the first data byte at or after offset (nullopt: none, the rest is a
  // hole), the first hole byte at or after offset (the end counts as a
  // hole), and the current end of the file. By default: no holes.
  virtual Result<std::optional<uint64_t>> SeekData(uint64_t offset);
  virtual Result<uint64_t> SeekHole(uint64_t offset);
  virtual Result<uint64_t> SeekEnd() = 0;
  // Called once after the content was read (bytes_read: the content length
  // the reader got): whether the file changed meanwhile, so the snapshot
  // holds bytes that never existed together. False when it cannot tell.
  virtual bool ChangedWhileRead(uint64_t bytes_read) = 0;

 private:
  const EntryInfo info_;
  const uint64_t limit_;
  const bool sparse_;
};

class Source {
 public:
  virtual ~Source() = default;

  // Metadata of the entry at path. follow: resolve a symlink at path (the
  // walker follows the directories above the named paths, and records
  // everything else as it is). An entry of a type a tree cannot hold is an
  // error naming it.
  virtual Result<EntryInfo> Stat(const std::string& path, bool follow) = 0;
  // Entry names of a directory, without "." and "..", sorted as bytes.
  virtual Result<std::vector<std::string>> List(const std::string& path,
                                                const EntryInfo& dir) = 0;
  // Target of a symlink (info.size is a hint of its length).
  virtual Result<std::string> ReadLink(const std::string& path, const EntryInfo& info) = 0;
  // Extended attributes (POSIX ACLs as system.posix_acl_*), sorted by name.
  virtual Result<std::vector<Xattr>> ReadXattrs(const std::string& path,
                                                const EntryInfo& info) = 0;
  // Opens a regular file for reading. path must stay valid while the file
  // is open (a file quotes it in its errors instead of copying it). The
  // file's info() is taken at the open; not a regular file any more is an
  // error.
  virtual Result<std::unique_ptr<SourceFile>> Open(const std::string& path,
                                                   const EntryInfo& info) = 0;
  // Owner names recorded with uid/gid ("" when unknown).
  virtual std::string UserName(uint32_t uid) = 0;
  virtual std::string GroupName(uint32_t gid) = 0;

  // Entries left out of the backup (--exclude), asked before Stat so an
  // excluded entry costs nothing. The named paths and the directories above
  // them are never asked about.
  virtual bool Excluded(const std::string& /*path*/, const std::string& /*name*/) const {
    return false;
  }
  // True: keep this directory's metadata but none of its entries
  // (--one-file-system at a mount point). root_device is the device of the
  // named path the directory lies under.
  virtual bool SkipContents(const EntryInfo& /*dir*/, uint64_t /*root_device*/) const {
    return false;
  }
  // The tree id of directory path when the source knows, without looking
  // below it, that nothing in it changed since `prev` (its node in the
  // parent snapshot) was recorded: the walker then keeps prev.subtree and
  // neither lists, reads nor re-encodes anything below. Asked only for a
  // directory at or below a named path (the ancestors of the named paths
  // hold partial trees); prev is its parent-snapshot node when that is a
  // directory, else null. The
  // snapshot's stats then count the directory but nothing under it. The
  // local file system cannot know this cheaply (a directory's mtime ignores
  // changes to the files in it), so LocalSource always answers nullopt and
  // the walker compares each file with the parent; head/ knows which
  // directories were touched since the snapshot it started from.
  // prev is null when the parent snapshot has no directory at path (a
  // directory head/ renamed keeps its stored tree under its new name).
  virtual std::optional<Id> UnchangedSubtree(const std::string& /*path*/,
                                             const EntryInfo& /*dir*/, const Node* /*prev*/) {
    return std::nullopt;
  }
  // The stored content of a regular file when the source knows it without
  // reading (head/: a file whose bytes did not change since the snapshot it
  // started from, whatever happened to its metadata; or one whose new bytes
  // its background packer stored already): extents, sha256 and size. The
  // walker still checks that every blob is in the index, and reads the
  // file when one is not.
  struct KnownFile {
    std::vector<Extent> content;
    Id sha256;
    uint64_t size = 0;
    // The content is new since the parent snapshot (stored by the source
    // before the run): the file counts as new or changed, not unmodified.
    bool new_content = false;
  };
  virtual std::optional<KnownFile> KnownContent(const std::string& /*path*/,
                                                const EntryInfo& /*info*/) {
    return std::nullopt;
  }
  // What the source stored itself for this backup before the run (head/:
  // blobs its background packer stored since the last seal); the
  // snapshot's stats count it as added by the backup.
  struct StoredBefore {
    uint64_t data_blobs = 0;
    uint64_t raw_bytes = 0;     // plaintext of those blobs
    uint64_t stored_bytes = 0;  // bytes of the packs holding them
  };
  virtual StoredBefore StoredBeforeRun() const { return {}; }
  // Whether entries are compared with the parent snapshot's nodes at all:
  // a stream has no identity to compare (every byte is read, and the file
  // counts as new).
  virtual bool ComparesWithParent() const { return true; }
  // What an entry that cannot be read (vanished, unreadable, failed while
  // being read) does: true: it is reported and left out, and the snapshot
  // is written without it (a live file system); false: the backup fails
  // and writes no snapshot (a stream that cannot be read again).
  virtual bool SkipUnreadable() const { return true; }
};

}  // namespace cairn
