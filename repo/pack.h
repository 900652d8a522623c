// Packs: many stored blobs concatenated, then the pack header (sealed), then
// its length as a little-endian u32. The header lists every blob, so the
// index can be rebuilt from the packs alone. Data blobs and tree blobs go to
// separate packs. A pack's id is the SHA-256 of its bytes; its key is
// packs/<first two hex digits>/<hex id>. Layout: doc/format.md, "Packs".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"
#include "repo/blob_codec.h"

namespace cairn {

struct PackEntry {
  Id id;
  BlobType type = BlobType::kData;
  uint32_t offset = 0;      // of the stored blob within the pack
  uint32_t length = 0;      // stored (sealed) length
  uint32_t raw_length = 0;  // plaintext length
  bool operator==(const PackEntry&) const = default;
};

std::string PackKey(const Id& pack_id);

struct FinishedPack {
  Id id;
  Bytes bytes;
  std::vector<PackEntry> entries;
};

// Accumulates stored blobs. Not thread-safe.
class PackBuilder {
 public:
  explicit PackBuilder(size_t reserve_bytes = 0);
  void Add(BlobType type, const Id& id, ByteView stored, uint32_t raw_length);
  size_t size() const { return bytes_.size(); }
  size_t count() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Appends the sealed header and trailer, hashes the pack and returns it;
  // the builder is empty afterwards.
  FinishedPack Finish(BlobCodec& codec);

 private:
  Bytes bytes_;
  std::vector<PackEntry> entries_;
};

// Reads `length` bytes at `offset` of the pack being parsed.
using PackFetchFn = std::function<Result<Bytes>(uint64_t offset, uint64_t length)>;

// Reads, authenticates and parses the header of a pack of pack_size bytes,
// with at most two fetches. Corruption naming the pack when the trailer or
// header is invalid or an entry lies outside the blob area.
Result<std::vector<PackEntry>> ReadPackHeader(BlobCodec& codec, const Id& pack_id,
                                              uint64_t pack_size, const PackFetchFn& fetch);

// Parses a header's plaintext (exposed for the fuzz target and tests).
Result<std::vector<PackEntry>> DecodePackHeader(ByteView plaintext, uint64_t blob_area_size);
Bytes EncodePackHeader(const std::vector<PackEntry>& entries);

}  // namespace cairn
