// Index segments: for a set of packs, every blob they hold. Stored sealed
// (BlobCodec::EncodeObject, aad "cairn.index") under index/<sha256 of the
// stored bytes>. Layout: doc/format.md, "Index segments".
#pragma once

#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"
#include "repo/pack.h"

namespace cairn {

struct IndexPack {
  Id pack;
  uint64_t pack_size = 0;  // bytes of the whole pack object
  std::vector<PackEntry> blobs;
  bool operator==(const IndexPack&) const = default;
};

struct IndexSegment {
  std::vector<IndexPack> packs;
  // Ids of index segments this one replaces (written by prune / rebuild).
  std::vector<Id> supersedes;
};

Bytes EncodeIndexSegment(const IndexSegment& seg);
// Corruption when the bytes are not a valid segment (safe on any input).
Result<IndexSegment> DecodeIndexSegment(ByteView plaintext);

// A segment validated where it lies. Parse checks everything
// DecodeIndexSegment checks (DecodeIndexSegment is built on it), but keeps
// only 4 bytes per blob, where its entry starts in the plaintext, and
// decodes entries on demand: an IndexSegment costs 48 bytes per blob, and
// a backup of a million files writes a segment of a million blobs, which
// a fresh mount loads into the cache (Repository::SyncIndex).
// Views the plaintext, which must outlive it. Const methods are thread-safe.
class IndexSegmentView {
 public:
  struct Pack {
    Id id;
    uint64_t size = 0;       // bytes of the whole pack object
    size_t first_blob = 0;   // blob index of its first blob
  };

  static Result<IndexSegmentView> Parse(ByteView plaintext);

  const std::vector<Pack>& packs() const { return packs_; }
  const std::vector<Id>& supersedes() const { return supersedes_; }
  // Blobs are numbered 0..blob_count()-1 in stored order, across packs.
  size_t blob_count() const { return pos_.size(); }
  PackEntry blob(size_t i) const;
  // Blob i's id alone (a view into the plaintext), to sort by.
  ByteView blob_id(size_t i) const { return plain_.subspan(pos_[i] + 1, Id::kSize); }
  // Index in packs() of the pack holding blob i.
  size_t pack_of(size_t i) const;

 private:
  ByteView plain_;
  std::vector<Pack> packs_;
  std::vector<uint32_t> pos_;  // offset of each blob entry (its type byte)
  std::vector<Id> supersedes_;
};

}  // namespace cairn
