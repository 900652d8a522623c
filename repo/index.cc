// Index segments. Layout: doc/format.md, "Index segments".
#include "repo/index.h"

#include <cstring>

#include "common/coding.h"

namespace cairn {

namespace {

constexpr uint8_t kIndexVersion = 1;
// Smallest encodings, used to bound counts by the remaining input before
// anything is allocated: a pack is id + 1-byte size + 1-byte blob count; a
// blob is type + id + three 1-byte varints.
constexpr size_t kMinPackSize = Id::kSize + 2;
constexpr size_t kMinBlobSize = 1 + Id::kSize + 3;

Status Bad(const char* why) { return Status::Corruption(std::string("index segment: ") + why); }

bool ReadId(Reader& r, Id* id) {
  ByteView v;
  if (!r.Raw(Id::kSize, &v)) return false;
  std::memcpy(id->bytes.data(), v.data(), Id::kSize);
  return true;
}

}  // namespace

Bytes EncodeIndexSegment(const IndexSegment& seg) {
  Bytes out;
  size_t blobs = 0;
  for (const IndexPack& p : seg.packs) blobs += p.blobs.size();
  out.reserve(16 + seg.packs.size() * 48 + blobs * 48 + seg.supersedes.size() * Id::kSize);
  out.push_back(kIndexVersion);
  PutVarint64(out, seg.packs.size());
  for (const IndexPack& p : seg.packs) {
    Append(out, p.pack.view());
    PutVarint64(out, p.pack_size);
    PutVarint64(out, p.blobs.size());
    for (const PackEntry& b : p.blobs) {
      out.push_back(static_cast<uint8_t>(b.type));
      Append(out, b.id.view());
      PutVarint64(out, b.offset);
      PutVarint64(out, b.length);
      PutVarint64(out, b.raw_length);
    }
  }
  PutVarint64(out, seg.supersedes.size());
  for (const Id& id : seg.supersedes) Append(out, id.view());
  return out;
}

Result<IndexSegment> DecodeIndexSegment(ByteView plaintext) {
  Reader r(plaintext);
  uint8_t version;
  if (!r.Byte(&version) || version != kIndexVersion) return Err(Bad("unknown version"));
  uint64_t npacks;
  if (!r.Varint64(&npacks) || npacks > r.remaining() / kMinPackSize) {
    return Err(Bad("bad pack count"));
  }
  IndexSegment seg;
  seg.packs.resize(static_cast<size_t>(npacks));
  for (IndexPack& p : seg.packs) {
    uint64_t nblobs;
    if (!ReadId(r, &p.pack) || !r.Varint64(&p.pack_size) || !r.Varint64(&nblobs)) {
      return Err(Bad("truncated pack entry"));
    }
    if (nblobs > r.remaining() / kMinBlobSize) return Err(Bad("bad blob count"));
    p.blobs.resize(static_cast<size_t>(nblobs));
    for (PackEntry& b : p.blobs) {
      uint8_t type;
      if (!r.Byte(&type) || !ReadId(r, &b.id) || !r.Varint32(&b.offset) || !r.Varint32(&b.length) ||
          !r.Varint32(&b.raw_length)) {
        return Err(Bad("truncated or invalid blob entry"));
      }
      if (type > static_cast<uint8_t>(BlobType::kTree)) return Err(Bad("unknown blob type"));
      b.type = static_cast<BlobType>(type);
      if (b.offset >= p.pack_size || uint64_t{b.offset} + b.length > p.pack_size) {
        return Err(Bad("blob lies outside its pack"));
      }
    }
  }
  uint64_t nsup;
  if (!r.Varint64(&nsup) || nsup > r.remaining() / Id::kSize) {
    return Err(Bad("bad supersedes count"));
  }
  seg.supersedes.resize(static_cast<size_t>(nsup));
  for (Id& id : seg.supersedes) {
    if (!ReadId(r, &id)) return Err(Bad("truncated supersedes list"));
  }
  if (!r.empty()) return Err(Bad("trailing bytes"));
  return seg;
}

}  // namespace cairn
