// ArchiveFs: the mount's file system on inode numbers, without FUSE headers
// (fs/fuse_ops.cc translates). What it shows (doc/semantics.md):
//
//   /snapshots/<YYYY-MM-DDTHH:MM:SSZ>_<id8>/<backed-up absolute paths>
//   /snapshots/latest             -> <newest snapshot>           (symlink)
//   /series/<series>/<time>_<id8> -> ../../snapshots/<name>      (symlinks)
//   /series/<series>/latest, /hosts/<host>/..., /tags/<tag>/...  (symlinks)
//
// Inode ownership. Every inode has one source:
//   - synthetic: the root, the layout directories, the snapshot roots and the
//     symlinks; rebuilt from the snapshot list on every refresh, held in RAM
//     (it grows with the number of snapshots, never with their trees);
//   - stored: an entry of a snapshot's trees. Its number is bound in the
//     TreeCache inode table (LMDB) to a locator (snapshot, parent inode,
//     parent tree, name); its directory is decoded into TreeCache on first
//     use. Nothing per stored inode lives in RAM and no file descriptor is
//     held per inode.
//   The writable head/ (next issue) adds a third source, staged entries
//   journaled on local disk; the locator's kind byte leaves room for it.
//
// Inode numbers: root 1 and the layout directories below 16; synthetic and
// stored numbers are 64-bit hashes, of the snapshot id and the path
// (parent inode + name), or of the snapshot id and (device, inode) for files
// with nlink > 1, so a hardlink group shares one number. They are stable
// across remounts; a collision moves the later entry to the next free
// number (TreeCache::Bind).
//
// Errors: NotFound (ENOENT), Locked for any write (EROFS: snapshots are
// immutable), Corruption/NotFound from a read of damaged data (EIO in the
// read only; ContentReader logs the file, blob and pack).
//
// Read-ahead across files: Open tells the ContentReader that the next files
// of the opened file's directory (by ordinal, i.e. readdir order) will
// probably be opened next (ContentReader::Sequence, one per directory for
// the 64 directories opened most recently); it never fails an open.
//
// Thread safety: all methods may be called concurrently. The snapshot view
// is an immutable object swapped under view_mu_; readers take a shared_ptr.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/tree_cache.h"
#include "common/log.h"
#include "common/object_pool.h"
#include "common/status.h"
#include "fs/listing_policy.h"
#include "fs/snapshot_view.h"
#include "fs/tree_prefetcher.h"
#include "repo/content_reader.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "repo/tree_fetcher.h"

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


struct ArchiveFsOptions {
  int64_t refresh_interval_ns = 30'000'000'000;  // snapshot list at most this often
  uint32_t uid = 0, gid = 0;                     // owner of the synthetic entries
  std::string control_socket;  // shown as user.cairn.control on the root
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

class ArchiveFs {
 public:
  static constexpr uint64_t kRootIno = 1;

  // repo, trees and reader must outlive the ArchiveFs. Loads the snapshot
  // list once.
  static Result<std::unique_ptr<ArchiveFs>> Create(Repository& repo, TreeCache& trees,
                                                   ContentReader& reader,
                                                   const ArchiveFsOptions& opts);
  ~ArchiveFs();

  Result<FsAttr> Lookup(uint64_t parent, std::string_view name);
  Result<FsAttr> GetAttr(uint64_t ino);
  // Calls fn for the entries of directory ino from cookie offset on ("."
  // and ".." first, at offsets 0 and 1) until fn returns false (the
  // caller's buffer is full; that entry is offered again next time).
  Status ReadDir(uint64_t ino, uint64_t offset, const std::function<bool(const FsDirEntry&)>& fn);

  class OpenFile;
  // flags are open(2)'s; anything but O_RDONLY is refused (Locked).
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags);
  // Up to out.size() bytes at offset; short only at end of file.
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out);
  // The same for a file opened without an OpenFile (the kernel opens files
  // itself under FUSE no_open, saving a round trip per file): the read
  // state is kept per inode, for the last kInodeFiles inodes read, and
  // shared by everyone reading that inode.
  static constexpr size_t kInodeFiles = 256;
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out);
  Result<std::string> ReadLink(uint64_t ino);
  // NotFound when the entry has no such attribute; Unsupported for
  // security.selinux when the entry has no stored label (ls -l then stops
  // asking for every file, doc/semantics.md).
  // A missing system.posix_acl_* answers Unsupported when the entry's
  // snapshot records no ACL at all (Snapshot::stats.acl_entries == 0) and
  // the kernel does not check ACLs itself: ls -l then stops asking for every
  // file's ACL (one round trip each); NotFound otherwise.
  Result<std::string> GetXattr(uint64_t ino, std::string_view name);
  // Whether some snapshot may hold POSIX ACLs (acl_entries unknown or > 0).
  bool MayHoldAcls();
  // Whether the kernel checks POSIX ACLs (FUSE_POSIX_ACL). It treats
  // "not supported" from an ACL read as an error in its permission checks,
  // so while this is true (the default) a missing ACL is always NotFound.
  void SetKernelChecksAcls(bool on) { kernel_checks_acls_.store(on); }
  Result<std::vector<std::string>> ListXattr(uint64_t ino);
  Result<FsStats> StatFs();
  // Stored inodes live in LMDB, not RAM, so forgetting frees nothing.
  void Forget(uint64_t ino, uint64_t nlookup);

  // Every change (create, write, setattr, rename, ...): Locked for now; the
  // head/ issue routes ops under head/ to staging here.
  Status CheckWritable(uint64_t ino, std::string_view op);

  // Re-reads the snapshot list (and the new index segments) now.
  Status Refresh();
  // Directories decoded by the prefetcher so far (tests, status).
  uint64_t prefetched_dirs() const { return prefetched_.load(); }
  // Listings answered from what the prefetcher prepared (tests, status).
  uint64_t ready_listings_served() const { return ready_served_.load(); }
  // Which listings gave file attributes (FsDirEntry::with_attributes).
  const ListingPolicy& listing_policy() const { return listing_policy_; }
  // Tree windows fetched and tree blobs decoded from them (zero when
  // tree_window_bytes is 0).
  TreeFetcherStats tree_window_stats() const {
    return trees_by_window_ ? trees_by_window_->stats() : TreeFetcherStats{};
  }
  // The mount's path of ino ("snapshots/2026-..._ab12cd34/etc/passwd"), for
  // messages.
  std::string PathOf(uint64_t ino);

 private:
  struct Dir;       // a directory: synthetic or stored
  struct Resolved;  // what an inode is
  ArchiveFs(Repository& repo, TreeCache& trees, ContentReader& reader,
            const ArchiveFsOptions& opts);

  std::shared_ptr<const SnapshotView> CurrentView();
  // Refreshes when the view is older than the refresh interval.
  void MaybeRefresh();
  Result<Resolved> Resolve(uint64_t ino);
  Result<Dir> DirOf(uint64_t ino);
  // Decodes the directory rooted at tree into TreeCache unless it is there.
  // quiet: a failure is not logged (a prefetch; the real access logs it).
  Status EnsureDir(const Id& tree, bool quiet = false);
  // A prefetch job: decodes and binds a directory nobody listed yet, and
  // queues its subdirectories while the depth budget lasts.
  void PrefetchDir(const TreePrefetcher::Job& job);
  struct ReadyListing;
  // The prefetcher's listing of directory ino, if it made one (removed).
  std::optional<ReadyListing> TakeReadyListing(uint64_t ino);
  // Records that directory ino is listed, or prepared by the prefetcher,
  // in this mount; false when it was already (among the last kListedKept).
  bool FirstListing(uint64_t ino);
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
  FsAttr AttrOf(const Resolved& r) const;
  // At most every 20 ms (called from lookup, getattr, readdir and open):
  // drops the daemon's mappings of LMDB pages (they stay in the page
  // cache) and every 200 ms trims malloc's free memory, so the RSS does not grow with
  // the trees walked.
  void MaybeReleasePages();
  // Read-ahead across files: the directory's files after the stored file
  // r (just opened) will probably be opened next, in ordinal order (tar,
  // cp -r, rsync and grep -r read a directory in readdir order), so r's
  // directory is a ContentReader::Sequence with ordinals as positions.
  void ReadAheadFrom(const Resolved& r);
  // The Sequence of directory tree, from a small most-recently-used table
  // (a walk keeps the directories above the one it reads in it).
  std::shared_ptr<ContentReader::Sequence> SequenceOf(const Id& tree);
  // Calls fn(pos, entry, own=false) for the entries directly in the
  // decoded directory subtree until fn returns false (the result); true at
  // once when subtree is not decoded or cannot be read.
  bool FilesBelow(const Id& subtree, uint64_t pos, const ContentReader::UpcomingNodeFn& fn);

  Repository& repo_;
  TreeCache& trees_;
  ContentReader& reader_;
  ArchiveFsOptions opts_;
  Logger& log_;
  ObjectPool<BlobCodec> codecs_;  // zstd contexts for decoding trees, reused
  std::unique_ptr<TreeFetcher> trees_by_window_;  // null: tree blobs one by one

  std::mutex view_mu_;  // guards view_ (the pointer; a View is immutable)
  std::shared_ptr<const SnapshotView> view_;
  std::mutex refresh_mu_;  // one refresh at a time; taken before view_mu_
  std::atomic<int64_t> last_attempt_ns_{0};  // monotonic time of the last refresh try
  std::atomic<int64_t> last_release_ns_{0};  // monotonic time of the last page release
  std::atomic<int64_t> last_trim_ns_{0};     // ... and of the last malloc_trim
  std::atomic<bool> kernel_checks_acls_{true};

  static constexpr size_t kSequences = 64;
  std::mutex seq_mu_;  // guards seqs_; never held while calling the reader
  // Directory tree -> its Sequence, most recently opened first.
  std::list<std::pair<Id, std::shared_ptr<ContentReader::Sequence>>> seqs_;

  // ReadIno's read states, most recently read first. GUARDED_BY(ino_mu_).
  std::mutex ino_mu_;
  std::list<std::shared_ptr<OpenFile>> ino_lru_;
  std::unordered_map<uint64_t, std::list<std::shared_ptr<OpenFile>>::iterator> ino_files_;

  std::mutex decode_mu_;  // guards decoding_
  std::condition_variable decode_cv_;
  std::vector<Id> decoding_;  // trees being decoded by some thread
  std::atomic<uint64_t> prefetched_{0};

  // Listings the prefetcher made of small directories nobody had listed
  // yet, for the first READDIRPLUS of each (then the kernel keeps it): the
  // walker's request is answered without a scan, decode and probe of every
  // entry. Taken once; oldest dropped beyond kReadyEntries entries in all.
  struct ReadyListing {
    std::vector<FsDirEntry> entries;
    std::vector<TreePrefetcher::Job> subdirs;  // to prefetch when it is listed
  };
  static constexpr size_t kReadyEntries = 32768;
  std::mutex ready_mu_;
  std::unordered_map<uint64_t, ReadyListing> ready_;  // GUARDED_BY(ready_mu_): by dir inode
  std::deque<uint64_t> ready_order_;                 // GUARDED_BY(ready_mu_): oldest first
  size_t ready_entries_ = 0;                         // GUARDED_BY(ready_mu_)
  // Directories listed or prepared in this mount, the most recent
  // kListedKept (~3 MB): a directory decoded by an earlier mount is
  // prepared ahead too, but never one listed already.
  static constexpr size_t kListedKept = 65536;
  std::unordered_set<uint64_t> listed_;  // GUARDED_BY(ready_mu_)
  std::deque<uint64_t> listed_order_;    // GUARDED_BY(ready_mu_): oldest first
  std::atomic<uint64_t> ready_served_{0};

  ListingPolicy listing_policy_;

  // Last: its workers use the members above, so it is destroyed (and they
  // are joined) first.
  std::unique_ptr<TreePrefetcher> prefetch_;
};

// One open file: what ContentReader keeps for its sequential-read state.
class ArchiveFs::OpenFile {
 public:
  uint64_t ino = 0;
  std::unique_ptr<ContentReader::File> file;
};

}  // namespace cairn
