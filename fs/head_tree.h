// HeadTree: the writable head/ of a mount (doc/semantics.md, "head/"): an
// overlay over the latest snapshot of one series. Entries changed in head/
// live in the journal (cache/head_journal.h) with whiteouts for deleted
// names, their new data in staging files (fs/head_staging.h); everything
// else is answered from the base snapshot's trees, so starting head/ costs
// nothing however large the snapshot. `cairn seal` turns head/ into a new
// snapshot (Seal) through the backup engine, with head/ as its Source.
//
// Inode numbers are the tree's own (range kHead of fs/inode_number.h),
// allocated in increasing order and never reused: they survive renames and
// hard links. A number of an entry that is still as in the base is kept in
// memory only while the kernel knows it (lookup count); a changed entry's
// number is in the journal.
//
// Acknowledgement point: every change returns only after its data was
// written to the staging file and its metadata committed to the journal,
// so a kill -9 of the daemon loses nothing acknowledged. Fsync (and seal,
// unmount) makes it durable: staging data first, the journal second.
//
// Thread safety: all methods may be called concurrently. Metadata is
// guarded by one mutex (mu_); staging I/O and repository reads run outside
// it. A seal holds seal_mu_ exclusively: changes wait for it (they land in
// the next snapshot), reads go on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache/head_journal.h"
#include "common/local_files.h"
#include "common/log.h"
#include "fs/head_base.h"
#include "fs/head_control.h"
#include "fs/head_packer.h"
#include "fs/head_staging.h"
#include "fs/tree.h"
#include "repo/content_reader.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace cairn {

struct HeadTreeOptions {
  std::string staging_dir;      // journal/ and data/ live here
  uint64_t staging_limit = 0;   // bytes of staged data; 0: only the disk limits
  std::string series;           // the series head/ continues and seals into
  std::string hostname;         // recorded in sealed snapshots
  uint32_t uid = 0, gid = 0;    // owner of the root of an empty head/
  int64_t sync_interval_ns = 1'000'000'000;  // journal synced at least this often
  size_t seal_threads = 0;      // backup engine threads; 0: one per core
  // Background packing of files written (fs/head_packer.h).
  HeadPackerOptions packer;
};

struct HeadNode;  // fs/head_record.h

class HeadTree final : public Tree {
 public:
  static constexpr uint64_t kRootIno = InoOfKind(TreeKind::kHead, 1);

  // Opens head/ in opts.staging_dir: recovers the journal (doc/format.md,
  // "Recovery") or starts one on the latest snapshot of opts.series (none:
  // an empty head/). repo, reader and files must outlive the tree.
  static Result<std::unique_ptr<HeadTree>> Open(TreeHost& host, Repository& repo,
                                                ContentReader& reader, LocalFiles& files,
                                                const HeadTreeOptions& opts);
  ~HeadTree() override;

  TreePolicy Policy() const override;

  // --- reading ---
  Result<FsAttr> Lookup(uint64_t parent, std::string_view name) override;
  Result<FsAttr> GetAttr(uint64_t ino) override;
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFiller& fn) override;
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, int flags) override;
  Result<size_t> Read(OpenFile& f, uint64_t offset, std::span<uint8_t> out) override;
  Result<size_t> ReadIno(uint64_t ino, uint64_t offset, std::span<uint8_t> out) override;
  Result<std::string> ReadLink(uint64_t ino) override;
  Result<std::string> GetXattr(uint64_t ino, std::string_view name) override;
  Result<std::vector<std::string>> ListXattr(uint64_t ino) override;
  void Forget(uint64_t ino, uint64_t nlookup) override;
  std::optional<std::pair<std::string, uint64_t>> NameOf(uint64_t ino) override;
  Status Release(std::unique_ptr<OpenFile> f) override;
  std::optional<FsSpaceInfo> StatFs() override;

  // --- changes ---
  Result<FsAttr> SetAttr(uint64_t ino, const FsSetAttr& changes, OpenFile* f) override;
  Result<FsAttr> MkNod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
                       const FsCaller& who) override;
  Result<FsAttr> MkDir(uint64_t parent, std::string_view name, uint32_t mode,
                       const FsCaller& who) override;
  Result<FsAttr> Symlink(uint64_t parent, std::string_view name, std::string_view target,
                         const FsCaller& who) override;
  Result<FsAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view name) override;
  Status Unlink(uint64_t parent, std::string_view name) override;
  Status RmDir(uint64_t parent, std::string_view name) override;
  Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                std::string_view new_name, unsigned flags) override;
  Result<Created> Create(uint64_t parent, std::string_view name, uint32_t mode, int flags,
                         const FsCaller& who) override;
  Result<size_t> Write(uint64_t ino, OpenFile* f, uint64_t offset,
                       std::span<const uint8_t> data) override;
  Status Fsync(uint64_t ino, OpenFile* f, bool datasync) override;
  Status Fallocate(uint64_t ino, OpenFile* f, int mode, uint64_t offset,
                   uint64_t length) override;
  Status SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                  int flags) override;
  Status RemoveXattr(uint64_t ino, std::string_view name) override;

  // --- the mount as a whole ---
  // Turns head/ into a new snapshot of the series (doc/semantics.md,
  // "Sealing"); head/ then continues from it. Changes wait while it runs.
  Result<SealReport> Seal(const SealRequest& req, const std::atomic<bool>* cancel);
  // Staged bytes, pending files, ... (fuse_requests left empty: the FUSE
  // session fills them in).
  HeadStatus GetStatus();
  // Makes every acknowledged change durable (all staging data, then the
  // journal).
  Status SyncAll();
  // Packs every file waiting for the background packer and stores the
  // packs (uploaded and indexed), without waiting for files to be idle:
  // `cairn umount` calls it before unmounting. Staged data stays staged
  // until a seal. Cancelled when *cancel becomes true.
  Status StoreStaged(const std::atomic<bool>* cancel);
  const std::optional<Snapshot>& base() const { return base_; }

 private:
  class File;
  class Source;
  friend class Source;
  class PackHost;  // fs/head_packing.cc
  friend class PackHost;
  HeadTree(TreeHost& host, Repository& repo, ContentReader& reader, LocalFiles& files,
           const HeadTreeOptions& opts);

  // One change: the journal batch and the inodes whose record it writes.
  struct Change;
  // --- helpers; *Locked: the caller holds s_->mu ---
  Status Recover();
  void SyncLoop();
  void HashIdleFiles();
  // The node of ino brought up to the current base; null when unknown.
  HeadNode* FindLocked(uint64_t ino);
  Result<HeadNode*> DirLocked(uint64_t ino);
  void FreshLocked(HeadNode& n);
  // The number of name in dir (0: none); binds a base entry to a number.
  Result<uint64_t> ChildLocked(HeadNode& dir, std::string_view name);
  uint64_t BindBaseLocked(uint64_t parent, std::string_view name, const Node& base);
  // The base entries of dir (empty when it has no base directory).
  Result<BaseDirs::Nodes> BaseOfLocked(const HeadNode& dir);
  // Names of dir in order with their numbers (bind: base entries get one;
  // else 0 for those not bound yet).
  Result<std::vector<std::pair<std::string, uint64_t>>> ListLocked(HeadNode& dir, bool bind);
  // Makes n part of the journal (and its parents, which hold its names).
  void DirtyLocked(HeadNode& n, Change& c);
  // Records that something in dir changed (it and its ancestors are walked
  // by the next seal).
  void TouchLocked(uint64_t dir, Change& c);
  // A change of n itself: it goes into the journal and the next seal
  // records it under each of its names.
  void ChangedLocked(HeadNode& n, Change& c);
  void StampDirLocked(HeadNode& dir, Change& c);
  Status CommitLocked(Change& c);
  Result<HeadNode*> NewNodeLocked(HeadNode& parent, std::string_view name, Node meta,
                                  Change& c);
  // name in dir now names ino (dir goes into the journal).
  void SetNameLocked(HeadNode& dir, std::string_view name, uint64_t ino, Change& c);
  // name in dir names nothing now (a whiteout over a base entry).
  void ClearNameLocked(HeadNode& dir, std::string_view name, Change& c);
  // The node called name in dir; NotFound when none.
  Result<HeadNode*> NamedLocked(HeadNode& dir, std::string_view name);
  // Removes name (child) from parent; the child goes when no name is left.
  void RemoveNameLocked(HeadNode& parent, std::string_view name, HeadNode& child, Change& c);
  void DropLocked(uint64_t ino);
  Status CheckNameLocked(HeadNode& dir, std::string_view name);
  FsAttr AttrOf(const HeadNode& n) const;
  Result<size_t> ReadData(uint64_t ino, File* f, uint64_t offset, std::span<uint8_t> out);
  Status Truncate(HeadNode& n, uint64_t size, Change& c);
  // n's content changed: it waits for the background packer (again).
  void QueuePackLocked(HeadNode& n);
  // Whether n has content the packer should pack.
  static bool NeedsPack(const HeadNode& n);
  // The packer starts once recovery is done (queueing every changed file)
  // and stops first in the destructor.
  void StartPacking();
  void StopPacking();
  void RebaseLocked(const Snapshot& sealed);
  std::string PathLocked(uint64_t ino);

  // Implementation in fs/head_tree*.cc; members in fs/head_state.h.
  struct State;
  std::unique_ptr<State> s_;
  Repository& repo_;
  ContentReader& reader_;
  LocalFiles& files_;
  const HeadTreeOptions opts_;
  Logger& log_;
  std::optional<Snapshot> base_;
};

}  // namespace cairn
