// Private to fs/head_*.cc: HeadTree's state and the helpers its operations
// share. Every member marked GUARDED_BY(mu) is read and written only with
// mu held; staging I/O and repository reads happen without it.
#pragma once

#include <list>
#include <map>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "fs/head_base.h"
#include "fs/head_record.h"
#include "fs/head_tree.h"
#include "repo/local_fs.h"

namespace cairn {

// A directory's entries as listed at the start of a readdir: later calls
// resume from it by cookie.
struct HeadListing {
  std::vector<std::pair<std::string, uint64_t>> entries;  // name, inode
};

struct HeadTree::State {
  State(Repository& repo) : base_dirs(repo, 64 << 20) {}

  std::unique_ptr<HeadJournal> journal;
  std::unique_ptr<HeadStaging> staging;
  BaseDirs base_dirs;
  IdNameCache names;

  // Changes hold it shared; a seal holds it exclusively.
  std::shared_mutex seal_mu;
  std::mutex mu;
  std::unordered_map<uint64_t, HeadNode> nodes;            // GUARDED_BY(mu)
  // Numbers of entries still as in the base: (parent, name) -> inode.
  std::map<std::pair<uint64_t, std::string>, uint64_t, std::less<>> bound;  // GUARDED_BY(mu)
  // Base hard link groups: (device, inode) -> the head/ inode of the group.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> base_ids;  // GUARDED_BY(mu)
  uint64_t next_ino = 2;                                   // GUARDED_BY(mu)
  uint64_t base_gen = 1;                                   // GUARDED_BY(mu)
  Id base_root;                                            // GUARDED_BY(mu) zero: empty
  uint64_t staged_total = 0;                               // GUARDED_BY(mu)
  std::set<uint64_t> unsynced;                             // GUARDED_BY(mu) staging not synced
  std::list<std::pair<uint64_t, std::shared_ptr<HeadListing>>> listings;  // GUARDED_BY(mu)
  std::atomic<bool> sealing{false};

  // Background packing (fs/head_packing.cc): files whose content changed
  // and is not packed yet, (queued_ns, inode) in the order of their first
  // write since they were last taken; an inode is in the list at most once.
  std::list<std::pair<int64_t, uint64_t>> pack_queue;  // GUARDED_BY(mu)
  std::unordered_set<uint64_t> pack_queued;            // GUARDED_BY(mu)
  std::unique_ptr<HeadPacker::Host> pack_host;
  std::unique_ptr<HeadPacker> packer;  // null until Open has recovered

  // Background journal sync.
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  bool stop = false;  // GUARDED_BY(sync_mu)
  std::thread sync_thread;
};

// What a read of a file of head/ needs, copied under mu so the bytes are
// read without it.
struct HeadContent {
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t base_len = 0;           // [0, base_len) not staged: meta.content
  std::vector<ByteRange> staged;   // those overlapping the read suffice
  Node meta;                       // when base_len > 0
};

// Reads out.size() bytes at offset (short only at the end of the file):
// staged ranges from staging, the rest below base_len from the stored
// content (base_file: opened on first use and kept by the caller), zeros
// beyond.
Result<size_t> ReadHeadContent(HeadStaging& staging, ContentReader& reader,
                               const HeadContent& c,
                               std::unique_ptr<ContentReader::File>& base_file,
                               uint64_t offset, std::span<uint8_t> out);

// A file of head/ as a backup SourceFile: its content as c describes it
// (the seal reads it, the background packer too).
class HeadSourceFile final : public SourceFile {
 public:
  HeadSourceFile(HeadStaging& staging, ContentReader& reader, HeadContent c,
                 const EntryInfo& info)
      : SourceFile(info, c.size, false), staging_(staging), reader_(reader), c_(std::move(c)) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    return ReadHeadContent(staging_, reader_, c_, base_, offset, buf);
  }
  Result<uint64_t> SeekEnd() override { return c_.size; }
  bool ChangedWhileRead(uint64_t) override { return false; }

 private:
  HeadStaging& staging_;
  ContentReader& reader_;
  const HeadContent c_;
  std::unique_ptr<ContentReader::File> base_;
};

// One change: its journal batch and the inodes whose record it writes
// (written once, at the commit, however often the change touched them).
struct HeadTree::Change {
  HeadJournal::Batch batch;
  std::set<uint64_t> put;
};

// A file of head/ opened through FUSE.
class HeadTree::File : public OpenFile {
 public:
  int flags = 0;
  bool writer = false;
  // The base content reader, made on the first read of a base range, for
  // the content identified by base_sha (a seal changes it).
  std::unique_ptr<ContentReader::File> base;
  Id base_sha;
  uint64_t base_gen = 0;
  std::mutex mu;  // guards base, base_sha, base_gen
};

}  // namespace cairn
