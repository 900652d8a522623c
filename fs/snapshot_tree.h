// SnapshotTree: the snapshots' content, read-only. It owns the snapshot
// roots (their numbers come from the snapshot id, SnapshotRootIno) and
// every stored entry below them:
//
//   - an entry's number is bound in the TreeCache inode table (LMDB) to a
//     locator (snapshot, parent inode, parent tree, name), in the snapshot
//     range of fs/inode_number.h (fs/stored_entry.cc: consecutive per
//     directory, one number per hardlink group);
//   - its directory is decoded into the TreeCache on first use (EnsureDir)
//     or ahead of a walk (TreePrefetcher). Nothing per entry lives in RAM
//     and no file descriptor is held per inode.
//
// Errors: NotFound (no such entry, a snapshot removed since), NotADirectory,
// IsADirectory (an open of a directory), InvalidArgument (readlink of what
// is not a symlink), ReadOnly for every change (Tree's defaults),
// Corruption/NotFound from a read of damaged data (ContentReader logs the
// file, blob and pack).
//
// Speed machinery, each behind its own class: listings made ahead by the
// tree prefetcher (fs/listing_cache.h), read-ahead across files in walk
// order (fs/walk_read_ahead.h; it never fails an open), and memory upkeep
// (fs/memory_upkeep.h, owned by the mount).
//
// Thread safety: all methods may be called concurrently. Lock order: none
// of the mutexes below is held while another is taken or while calling the
// reader, the TreeCache or the prefetcher.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/tree_cache.h"
#include "common/log.h"
#include "common/object_pool.h"
#include "fs/listing_cache.h"
#include "fs/listing_policy.h"
#include "fs/memory_upkeep.h"
#include "fs/tree.h"
#include "fs/tree_prefetcher.h"
#include "fs/view_source.h"
#include "fs/walk_read_ahead.h"
#include "repo/content_reader.h"
#include "repo/repository.h"
#include "repo/tree.h"
#include "repo/tree_fetcher.h"

namespace cairn {

struct SnapshotTreeOptions {
  uint32_t uid = 0, gid = 0;  // owner of the snapshot roots
  // Directories listed from the start have their subdirectories decoded
  // ahead by this many threads (0: off), this many levels deep
  // (fs/tree_prefetcher.h).
  size_t prefetch_threads = 1;
  int prefetch_depth = 2;
  // Tree blobs are fetched by windows of this many bytes of their pack,
  // kept in RAM up to tree_window_cache_bytes (repo/tree_fetcher.h); 0:
  // one GET per tree blob (a local directory, where a read costs little).
  uint64_t tree_window_bytes = 0;
  uint64_t tree_window_cache_bytes = 32 << 20;
};

class SnapshotTree final : public Tree, private WalkReadAhead::Dirs {
 public:
  // repo, trees, reader, views and upkeep must outlive the tree. Every
  // lookup, getattr, readdir, open and decode tells upkeep the mount is
  // busy (fs/memory_upkeep.h keeps the RSS flat).
  SnapshotTree(TreeHost& host, Repository& repo, TreeCache& trees, ContentReader& reader,
               ViewSource& views, MemoryUpkeep& upkeep, const SnapshotTreeOptions& opts);
  ~SnapshotTree() override;

  TreePolicy Policy() const override;
  Result<FsAttr> Lookup(uint64_t parent, std::string_view name) override;
  Result<FsAttr> GetAttr(uint64_t ino) override;
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) override;
  // Anything but O_RDONLY is refused (ReadOnly).
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags) override;
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) override;
  // A file the kernel opened itself (FUSE no_open saves a round trip per
  // file): the read state is kept per inode, for the last kInodeFiles
  // inodes read, and shared by everyone reading that inode.
  static constexpr size_t kInodeFiles = 256;
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) override;
  Result<std::string> ReadLink(uint64_t ino) override;
  // NotFound when the entry has no such attribute; Unsupported for
  // security.selinux when the entry has no stored label, and for a missing
  // system.posix_acl_* when the snapshot records no ACL at all and the
  // kernel does not check ACLs itself (doc/semantics.md).
  Result<std::string> GetXattr(uint64_t ino, std::string_view name) override;
  Result<std::vector<std::string>> ListXattr(uint64_t ino) override;
  std::optional<std::pair<std::string, uint64_t>> NameOf(uint64_t ino) override;

  // Whether the kernel checks POSIX ACLs (see GetXattr).
  void SetKernelChecksAcls(bool on) { kernel_checks_acls_.store(on); }
  void WaitForPrefetches() {
    if (prefetch_) prefetch_->WaitIdle();
  }
  uint64_t prefetched_dirs() const { return prefetched_.load(); }
  uint64_t ready_listings_served() const { return listings_.served(); }
  const ListingPolicy& listing_policy() const { return listing_policy_; }
  TreeFetcherStats tree_window_stats() const {
    return trees_by_window_ ? trees_by_window_->stats() : TreeFetcherStats{};
  }

 private:
  // What an inode is: a snapshot root or a stored entry (node is then the
  // entry; for a root, a directory node made from the snapshot).
  struct Resolved {
    uint64_t ino = 0;
    bool root = false;
    Id snap;               // the snapshot it belongs to
    uint64_t parent = 0;   // its directory's number
    Id parent_tree;        // stored: the directory tree holding the entry
    uint64_t ordinal = 0;  // stored: its position in that directory
    Node node;
    uint64_t stored_bytes = 0;
  };
  // A directory: a snapshot root or a stored directory.
  struct Dir {
    uint64_t ino = 0;
    Id snap, tree;
    uint64_t parent = 0;  // for ".."
  };
  class File;

  Result<Resolved> Resolve(uint64_t ino);
  Result<Dir> DirOf(uint64_t ino);
  FsAttr AttrOf(const Resolved& r) const;
  // Decodes the directory rooted at tree into TreeCache unless it is there.
  // quiet: a failure is not logged (a prefetch; the real access logs it).
  Status EnsureDir(const Id& tree, bool quiet = false);
  // A prefetch job: decodes and binds a directory nobody listed yet, and
  // queues its subdirectories while the depth budget lasts.
  void PrefetchDir(const TreePrefetcher::Job& job);
  // Calls fn(ordinal, node, stored bytes) for the decoded entries of the
  // directory rooted at tree from ordinal `from` on until fn returns false;
  // a damaged entry ends the scan with its error.
  Status ScanEntries(const Id& tree, uint64_t from,
                     const std::function<bool(uint64_t, Node&&, uint64_t)>& fn);
  Result<std::vector<FsDirEntry>> StoredEntries(const Dir& d, uint64_t from_ordinal,
                                                size_t max);
  // Binds the inode numbers of every entry of d in a few large write
  // transactions (a listing from the start), so the readdir calls that
  // follow only read: LMDB rewrites the pages a transaction touches, and one
  // transaction per 25-entry readdir call would touch a page per entry.
  // When subdirs is given, adds a prefetch job of depth `depth` for every
  // subdirectory, last name first (the prefetcher runs the last one first).
  // When listing is given, it gets every entry with its attributes (for a
  // directory small enough to hold in memory: ReadDir answers from it).
  Status BindAll(const Dir& d, std::vector<TreePrefetcher::Job>* subdirs = nullptr,
                 int depth = 0, std::vector<FsDirEntry>* listing = nullptr);
  // WalkReadAhead::Dirs: the decoded entries of a directory, and where a
  // stored directory sits in its parent.
  Status Scan(const Id& tree, uint64_t from,
              const std::function<bool(uint64_t, Node&&)>& fn) override;
  std::optional<Place> PlaceOf(uint64_t dir_ino) override;

  Repository& repo_;
  TreeCache& trees_;
  ContentReader& reader_;
  ViewSource& views_;
  MemoryUpkeep& upkeep_;
  SnapshotTreeOptions opts_;
  Logger& log_;
  ObjectPool<BlobCodec> codecs_;  // zstd contexts for decoding trees, reused
  std::unique_ptr<TreeFetcher> trees_by_window_;  // null: tree blobs one by one

  std::atomic<bool> kernel_checks_acls_{true};

  // ReadIno's read states, most recently read first. GUARDED_BY(ino_mu_).
  std::mutex ino_mu_;
  std::list<std::shared_ptr<File>> ino_lru_;
  std::unordered_map<uint64_t, std::list<std::shared_ptr<File>>::iterator> ino_files_;

  std::mutex decode_mu_;  // guards decoding_
  std::condition_variable decode_cv_;
  std::vector<Id> decoding_;  // trees being decoded by some thread
  std::atomic<uint64_t> prefetched_{0};

  ListingCache listings_;  // what the prefetcher listed ahead
  WalkReadAhead read_ahead_;  // across files, in walk order
  ListingPolicy listing_policy_;

  // Last: its workers use the members above, so it is destroyed (and they
  // are joined) first.
  std::unique_ptr<TreePrefetcher> prefetch_;
};

}  // namespace cairn
