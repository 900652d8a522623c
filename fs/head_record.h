// Private to fs/head_*.cc: one inode of head/ in memory (HeadNode) and its
// record in the journal (doc/format.md, "Head journal").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"
#include "fs/head_staging.h"
#include "repo/tree.h"

namespace cairn {

// A file's content as the background packer stored it (fs/head_packer.h):
// valid while the file's write_gen is still gen.
struct HeadPacked {
  uint64_t gen = 0;
  uint64_t size = 0;
  std::vector<Extent> content;
  Id sha256;
};

// An inode of head/ that the tree knows: changed since the base (dirty: in
// the journal), or still as in the base and bound to a number while the
// kernel knows it.
struct HeadNode {
  uint64_t ino = 0;
  // Metadata as a tree node (name unused). Files: content and sha256 are
  // the base's stored content, valid for [0, base_len) where not staged;
  // dirs: subtree is the base directory its entries come from (zero: a
  // directory new in head/); device/inode: the identity recorded at backup
  // or seal (base_identity), else none yet.
  Node meta;
  bool dirty = false;            // has a journal record
  bool touched = false;          // dir: an entry at or below it changed
  bool content_changed = false;  // file: bytes differ from meta.content
  bool base_identity = false;    // meta.device/inode come from the base
  bool hash_valid = false;       // staged_hash is the hash of `staged`
  bool suspect = false;          // recovery found staged data missing
  uint64_t base_len = 0;         // file: bytes of meta.content still in use
  std::vector<ByteRange> staged;  // file: ranges in the staging file, sorted, disjoint
  Id staged_hash;
  // (parent, name) of every name of the inode (a directory has one; the
  // root none).
  std::vector<std::pair<uint64_t, std::string>> links;
  // dir: names changed in head/: child number, 0 for a whiteout (a base
  // name deleted). Persisted as the journal's dirents.
  std::map<std::string, uint64_t, std::less<>> delta;

  // --- memory only ---
  uint64_t nlookup = 0;      // the kernel's references
  uint32_t opens = 0;        // open files
  uint32_t writers = 0;      // ... of them open for writing
  uint64_t write_gen = 0;    // bumped by every data change (hash races)
  uint64_t base_gen = 0;     // the base generation the metadata belongs to
  bool unlinked = false;     // no name left; kept while open or known
  int64_t changed_ns = 0;    // time of the oldest unsealed change (status)
  int64_t last_write_ns = 0;  // time of the last data change (hashing waits)
  // file: its content packed in the background (null: none; stale when
  // packed->gen != write_gen).
  std::shared_ptr<const HeadPacked> packed;

  bool is_dir() const { return meta.type == NodeType::kDir; }
  bool is_file() const { return meta.type == NodeType::kFile; }
  uint64_t StagedBytes() const {
    uint64_t n = 0;
    for (const auto& r : staged) n += r.length;
    return n;
  }
};

// The journal record of n (everything but delta, which is kept as dirents,
// and the memory-only members).
Bytes EncodeHeadRecord(const HeadNode& n);
// Corruption naming ino when the bytes are not a record of this format.
Result<HeadNode> DecodeHeadRecord(uint64_t ino, ByteView record);

// Adds r to the sorted, disjoint ranges (merging neighbours); returns the
// bytes of r not covered before.
uint64_t AddRange(std::vector<ByteRange>& ranges, ByteRange r);
// The bytes of r that the sorted, disjoint ranges do not cover (what
// AddRange would return), without changing them.
uint64_t UncoveredBytes(const std::vector<ByteRange>& ranges, ByteRange r);
// Cuts the ranges at size; returns the bytes removed.
uint64_t CutRanges(std::vector<ByteRange>& ranges, uint64_t size);

}  // namespace cairn
