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

}  // namespace cairn
