#include "repo/pack.h"

#include "common/coding.h"
#include "repo/crypto.h"

namespace cairn {

namespace {
constexpr uint8_t kHeaderVersion = 1;
constexpr size_t kEntrySize = 1 + 32 + 4 + 4 + 4;
constexpr char kHeaderAad[] = "cairn.packheader";
constexpr uint64_t kTailRead = 64 * 1024;
}  // namespace

std::string PackKey(const Id& pack_id) {
  std::string hex = pack_id.Hex();
  return "packs/" + hex.substr(0, 2) + "/" + hex;
}

PackBuilder::PackBuilder(size_t reserve_bytes) { bytes_.reserve(reserve_bytes); }

void PackBuilder::Add(BlobType type, const Id& id, ByteView stored, uint32_t raw_length) {
  entries_.push_back(PackEntry{id, type, static_cast<uint32_t>(bytes_.size()),
                               static_cast<uint32_t>(stored.size()), raw_length});
  Append(bytes_, stored);
}

Bytes EncodePackHeader(const std::vector<PackEntry>& entries) {
  Bytes out;
  out.reserve(16 + entries.size() * kEntrySize);
  out.push_back(kHeaderVersion);
  PutVarint64(out, entries.size());
  for (const auto& e : entries) {
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
  const size_t before = bytes_.size();
  codec.EncodeObject(kHeaderAad, EncodePackHeader(pack.entries), bytes_);
  PutFixed32(bytes_, static_cast<uint32_t>(bytes_.size() - before));
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
  if (!r.Varint64(&count) || count > r.remaining() / kEntrySize ||
      r.remaining() != count * kEntrySize) {
    return Err(Status::Corruption("pack header has a bad entry count"));
  }
  std::vector<PackEntry> entries(static_cast<size_t>(count));
  for (auto& e : entries) {
    uint8_t type;
    ByteView id;
    r.Byte(&type);
    r.Raw(32, &id);
    r.Fixed32(&e.offset);
    r.Fixed32(&e.length);
    r.Fixed32(&e.raw_length);
    if (type > 1) return Err(Status::Corruption("pack header has an unknown blob type"));
    e.type = static_cast<BlobType>(type);
    e.id = Id::FromView(id);
    if (uint64_t{e.offset} + e.length > blob_area_size) {
      return Err(Status::Corruption("pack header places blob " + e.id.Short() +
                                    " outside the pack"));
    }
  }
  return entries;
}

Result<std::vector<PackEntry>> ReadPackHeader(BlobCodec& codec, const Id& pack_id,
                                              uint64_t pack_size, const PackFetchFn& fetch) {
  const std::string name = "pack " + pack_id.Short();
  if (pack_size < 4 + Crypto::kOverhead + 2) {
    return Err(Status::Corruption(name + ": too short to be a pack (" +
                                  std::to_string(pack_size) + " bytes)"));
  }
  uint64_t want = std::min(pack_size, kTailRead);
  CAIRN_ASSIGN_OR_RETURN(Bytes tail, fetch(pack_size - want, want));
  if (tail.size() != want) return Err(Status::Corruption(name + ": short read (truncated?)"));
  uint32_t header_len = DecodeFixed32(tail.data() + tail.size() - 4);
  if (uint64_t{header_len} + 4 > pack_size || header_len < Crypto::kOverhead) {
    return Err(Status::Corruption(name + ": bad trailer (truncated or damaged pack)"));
  }
  ByteView sealed;
  Bytes more;
  if (uint64_t{header_len} + 4 <= want) {
    sealed = ByteView(tail.data() + tail.size() - 4 - header_len, header_len);
  } else {
    CAIRN_ASSIGN_OR_RETURN(more, fetch(pack_size - 4 - header_len, header_len));
    if (more.size() != header_len) return Err(Status::Corruption(name + ": short header read"));
    sealed = more;
  }
  Bytes plain;
  Status s = codec.DecodeObject(kHeaderAad, sealed, plain);
  if (!s.ok()) return Err(Status::Corruption(name + ": header: " + s.message()));
  auto entries = DecodePackHeader(plain, pack_size - 4 - header_len);
  if (!entries) return Err(entries.error().WithContext(name));
  return entries;
}

}  // namespace cairn
