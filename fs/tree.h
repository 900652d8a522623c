// Tree: one kind of tree in the mount, on inode numbers (no FUSE headers).
// ArchiveFs (fs/archive_fs.h) routes every operation to the tree that owns
// the inode; each tree answers for its own inodes only:
//
//   LayoutTree    the root, snapshots/, series/, hosts/, tags/ and their
//                 symlinks, rebuilt from the snapshot list (fs/layout_tree.h)
//   SnapshotTree  the snapshot roots and every stored entry below them,
//                 immutable (fs/snapshot_tree.h)
//   (head/)       the writable tree of the next issue: its own range of
//                 numbers, allocated by itself
//
// Inode numbers carry their tree in a kind field (fs/inode_number.h), so
// the router needs nothing but the number to pick the tree.
//
// Every change (create, write, setattr, rename, ...) has a default that
// refuses with ReadOnly, so a read-only tree implements none of them.
//
// Thread safety: every method may be called concurrently from the FUSE
// worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fs/inode_number.h"

namespace cairn {

struct FsAttr {
  uint64_t ino = 0;
  uint32_t mode = 0;  // S_IFMT bits | permission bits
  uint32_t nlink = 1;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units of stored (compressed) size
  uint64_t rdev = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  // True for snapshot content, which never changes: the kernel may cache
  // entries, attributes and pages for as long as it likes.
  bool immutable = false;
};

struct FsDirEntry {
  std::string name;
  FsAttr attr;
  uint64_t next_offset = 0;  // cookie to resume after this entry
  // false: the listing should hand over only the name, type and inode
  // number (READDIRPLUS without a kernel inode; ListingPolicy says when).
  bool with_attributes = true;
};

// Called for each entry of a listing; false: the caller's buffer is full
// (that entry is offered again next time).
using DirFiller = std::function<bool(const FsDirEntry&)>;

// Offers "." (ino) and ".." (parent) at cookies 0 and 1 from offset on;
// false when fn's buffer filled (the listing stops there).
bool ListDots(uint64_t ino, uint64_t parent, uint64_t offset, const DirFiller& fn);

// What the FUSE session may assume of a tree (fs/fuse_ops.cc combines the
// answers of all trees of a mount; doc/semantics.md has the measurements).
struct TreePolicy {
  // Accepts changes: the mount cannot be `ro` while such a tree is in it.
  bool writable = false;
  // Needs OPEN and RELEASE for its files (open flags, a close to finish a
  // file on). When no tree does, the kernel opens files itself (FUSE
  // no_open: no round trip per open) and reads come by inode (ReadIno).
  bool needs_open = false;
  // Opened files keep the kernel's cached pages (contents never change
  // behind the kernel's back).
  bool keep_cache = true;
};

// What statfs reports for a tree that has its own space (head/: the
// staging area), in bytes.
struct FsSpaceInfo {
  uint64_t total = 0;
  uint64_t available = 0;
  uint64_t files = 0;  // entries known
};

// A file opened by a tree (released by destroying it, see Tree::Release).
class OpenFile {
 public:
  virtual ~OpenFile() = default;
  uint64_t ino = 0;
};

// Who asks for a change that creates an entry: its owner. The mode passed
// with it has the caller's umask applied already (by the kernel).
struct FsCaller {
  uint32_t uid = 0, gid = 0;
};

// Attribute changes of a setattr; unset members stay as they are.
struct FsSetAttr {
  std::optional<uint32_t> mode;  // permission bits
  std::optional<uint32_t> uid, gid;
  std::optional<uint64_t> size;
  std::optional<int64_t> atime_ns, mtime_ns;
};

// What a tree may ask of the mount it is part of (the router).
class TreeHost {
 public:
  // The mount's path of ino, for messages.
  virtual std::string PathOf(uint64_t ino) = 0;
  // The attributes of ino, whichever tree owns it (a layout directory lists
  // the snapshot roots, which the snapshot tree owns).
  virtual Result<FsAttr> GetAttr(uint64_t ino) = 0;

 protected:
  ~TreeHost() = default;
};

class Tree {
 public:
  explicit Tree(TreeHost& host) : host_(host) {}
  virtual ~Tree() = default;
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  virtual TreePolicy Policy() const = 0;

  // --- reading; ino, parent: numbers of this tree ---
  // The entry name in directory parent (its number may be another tree's:
  // a layout directory holds snapshot roots).
  virtual Result<FsAttr> Lookup(uint64_t parent, std::string_view name) = 0;
  virtual Result<FsAttr> GetAttr(uint64_t ino) = 0;
  // Calls fn for the entries of directory ino from cookie offset on ("."
  // and ".." first, at offsets 0 and 1) until fn returns false.
  virtual Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) = 0;
  // flags are open(2)'s.
  virtual Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags) = 0;
  // Up to out.size() bytes at offset; short only at end of file.
  virtual Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) = 0;
  // The same for a file the kernel opened itself (no OpenFile).
  virtual Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) = 0;
  virtual Result<std::string> ReadLink(uint64_t ino) = 0;
  virtual Result<std::string> GetXattr(uint64_t ino, std::string_view name) = 0;
  virtual Result<std::vector<std::string>> ListXattr(uint64_t ino) = 0;
  // The kernel dropped nlookup references to ino.
  virtual void Forget(uint64_t /*ino*/, uint64_t /*nlookup*/) {}
  // The entry's name and its parent's number (for PathOf); empty when ino
  // is unknown.
  virtual std::optional<std::pair<std::string, uint64_t>> NameOf(uint64_t ino) = 0;
  // The last reference to f went away (close of the last descriptor).
  virtual Status Release(std::unique_ptr<OpenFile> f);

  // --- changes: ReadOnly unless a tree overrides them ---
  virtual Result<FsAttr> SetAttr(uint64_t ino, const FsSetAttr& changes, OpenFile* f);
  // mode: S_IFMT bits | permission bits (fifo, socket, char/block device,
  // regular file).
  virtual Result<FsAttr> MkNod(uint64_t parent, std::string_view name, uint32_t mode,
                               uint64_t rdev, const FsCaller& who);
  virtual Result<FsAttr> MkDir(uint64_t parent, std::string_view name, uint32_t mode,
                               const FsCaller& who);
  virtual Result<FsAttr> Symlink(uint64_t parent, std::string_view name,
                                 std::string_view target, const FsCaller& who);
  // A new name for ino in new_parent (both this tree's).
  virtual Result<FsAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view name);
  virtual Status Unlink(uint64_t parent, std::string_view name);
  virtual Status RmDir(uint64_t parent, std::string_view name);
  // flags: renameat2's (RENAME_NOREPLACE, RENAME_EXCHANGE).
  virtual Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                        std::string_view new_name, unsigned flags);
  struct Created {
    FsAttr attr;
    std::unique_ptr<OpenFile> file;
  };
  virtual Result<Created> Create(uint64_t parent, std::string_view name, uint32_t mode,
                                 int flags, const FsCaller& who);
  // f is null for a file the kernel opened itself.
  virtual Result<size_t> Write(uint64_t ino, OpenFile* f, uint64_t offset,
                               std::span<const uint8_t> data);
  // Makes ino's acknowledged changes durable (a directory: its entries).
  virtual Status Fsync(uint64_t ino, OpenFile* f, bool datasync);
  // fallocate(2) with its mode bits; Unsupported unless a tree overrides it.
  virtual Status Fallocate(uint64_t ino, OpenFile* f, int mode, uint64_t offset,
                           uint64_t length);
  // Space of the file system as this tree sees it (statfs on a mount whose
  // root is in this tree); nullopt: the mount's figures (ArchiveFs).
  virtual std::optional<FsSpaceInfo> StatFs() { return std::nullopt; }
  virtual Status SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                          int flags);
  virtual Status RemoveXattr(uint64_t ino, std::string_view name);

 protected:
  // The refusal of a change of a read-only tree: "<op> <path>: ...".
  virtual Status Refuse(std::string_view op, uint64_t ino);
  TreeHost& host_;
};

}  // namespace cairn
