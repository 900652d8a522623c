// Packs: stored blobs, then the sealed header, then a u32 LE header length.
// Layout: doc/format.md, "Packs".
#include "repo/pack.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "common/coding.h"
#include "repo/crypto.h"

namespace cairn {

namespace {

constexpr uint8_t kHeaderVersion = 1;
// type, id, offset, length, raw_length
constexpr size_t kEntrySize = 1 + Id::kSize + 4 + 4 + 4;
constexpr char kHeaderAad[] = "cairn.packheader";
constexpr size_t kTrailerSize = 4;
// One ranged read of this many bytes from the end of a pack usually holds
// the whole header (a 64 KiB header lists ~1400 blobs).
constexpr uint64_t kTailRead = 64 * 1024;
// Smallest sealed header: nonce, tag, codec flag byte, version, count 0.
constexpr uint64_t kMinSealedHeader = Crypto::kOverhead + 1 + 2;

Status PackError(const Id& pack_id, const std::string& why) {
  return Status::Corruption("pack " + pack_id.Short() + ": " + why);
}

}  // namespace

std::string PackKey(const Id& pack_id) {
  std::string hex = pack_id.Hex();
  return "packs/" + hex.substr(0, 2) + "/" + hex;
}

PackBuilder::PackBuilder(size_t reserve_bytes) { bytes_.reserve(reserve_bytes); }

void PackBuilder::Add(BlobType type, const Id& id, ByteView stored, uint32_t raw_length) {
  // Offsets and lengths are 32-bit in the header; packs are far smaller.
  assert(bytes_.size() + stored.size() <= UINT32_MAX);
  entries_.push_back(PackEntry{id, type, static_cast<uint32_t>(bytes_.size()),
                               static_cast<uint32_t>(stored.size()), raw_length});
  Append(bytes_, stored);
}

Bytes EncodePackHeader(const std::vector<PackEntry>& entries) {
  Bytes out;
  out.reserve(1 + 10 + entries.size() * kEntrySize);
  out.push_back(kHeaderVersion);
  PutVarint64(out, entries.size());
  for (const PackEntry& e : entries) {
    out.push_back(static_cast<uint8_t>(e.type));
    Append(out, e.id.view());
    PutFixed32(out, e.offset);
    PutFixed32(out, e.length);
    PutFixed32(out, e.raw_length);
  }
  return out;
}

FinishedPack PackBuilder::Finish(BlobCodec& codec) {
  FinishedPack pack;
  pack.entries = std::move(entries_);
  entries_.clear();
  const size_t header_start = bytes_.size();
  codec.EncodeObject(kHeaderAad, EncodePackHeader(pack.entries), bytes_);
  PutFixed32(bytes_, static_cast<uint32_t>(bytes_.size() - header_start));
  pack.id = Sha256(bytes_);
  pack.bytes = std::move(bytes_);
  bytes_ = Bytes();
  return pack;
}

Result<std::vector<PackEntry>> DecodePackHeader(ByteView plaintext, uint64_t blob_area_size) {
  Reader r(plaintext);
  uint8_t version;
  uint64_t count;
  if (!r.Byte(&version) || version != kHeaderVersion) {
    return Err(Status::Corruption("unknown pack header version"));
  }
  // Entries have a fixed size, so the count must account for every byte left.
  if (!r.Varint64(&count) || count > r.remaining() / kEntrySize ||
      r.remaining() != count * kEntrySize) {
    return Err(Status::Corruption("pack header has a bad entry count"));
  }
  std::vector<PackEntry> entries(static_cast<size_t>(count));
  for (PackEntry& e : entries) {
    uint8_t type = 0;
    ByteView id;
    // Cannot fail: the length was checked above.
    if (!r.Byte(&type) || !r.Raw(Id::kSize, &id) || !r.Fixed32(&e.offset) ||
        !r.Fixed32(&e.length) || !r.Fixed32(&e.raw_length)) {
      return Err(Status::Corruption("pack header is truncated"));
    }
    if (type > static_cast<uint8_t>(BlobType::kTree)) {
      return Err(Status::Corruption("pack header has an unknown blob type"));
    }
    e.type = static_cast<BlobType>(type);
    std::memcpy(e.id.bytes.data(), id.data(), Id::kSize);
    if (e.offset >= blob_area_size || uint64_t{e.offset} + e.length > blob_area_size) {
      return Err(
          Status::Corruption("pack header places blob " + e.id.Short() + " outside the blob area"));
    }
  }
  return entries;
}

Result<std::vector<PackEntry>> ReadPackHeader(BlobCodec& codec, const Id& pack_id,
                                              uint64_t pack_size, const PackFetchFn& fetch) {
  if (pack_size < kTrailerSize + kMinSealedHeader) {
    return Err(PackError(
        pack_id, "too short to be a pack (" + std::to_string(pack_size) + " bytes; truncated?)"));
  }
  const uint64_t want = std::min(pack_size, kTailRead);
  CAIRN_ASSIGN_OR_RETURN(Bytes tail, fetch(pack_size - want, want));
  if (tail.size() != want) return Err(PackError(pack_id, "short read (truncated pack?)"));
  const uint64_t header_len = DecodeFixed32(tail.data() + tail.size() - kTrailerSize);
  if (header_len < kMinSealedHeader || header_len + kTrailerSize > pack_size) {
    return Err(PackError(pack_id, "bad trailer: header length " + std::to_string(header_len) +
                                      " in a pack of " + std::to_string(pack_size) +
                                      " bytes (truncated or damaged)"));
  }
  ByteView sealed;
  Bytes joined;
  if (header_len + kTrailerSize <= want) {
    sealed = ByteView(tail).subspan(want - kTrailerSize - header_len, header_len);
  } else {
    // The header starts before the tail: fetch only the missing front part.
    const uint64_t missing = header_len + kTrailerSize - want;
    CAIRN_ASSIGN_OR_RETURN(joined, fetch(pack_size - kTrailerSize - header_len, missing));
    if (joined.size() != missing) return Err(PackError(pack_id, "short header read"));
    Append(joined, ByteView(tail).first(want - kTrailerSize));
    sealed = joined;
  }
  Bytes plain;
  Status s = codec.DecodeObject(kHeaderAad, sealed, plain);
  if (!s.ok()) return Err(PackError(pack_id, "header: " + s.message()));
  auto entries = DecodePackHeader(plain, pack_size - kTrailerSize - header_len);
  if (!entries) return Err(PackError(pack_id, entries.error().message()));
  return entries;
}

}  // namespace cairn
