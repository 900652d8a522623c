#include "repo/index.h"

#include "common/coding.h"

namespace cairn {

namespace {
constexpr uint8_t kIndexVersion = 1;
}

Bytes EncodeIndexSegment(const IndexSegment& seg) {
  Bytes out;
  out.push_back(kIndexVersion);
  PutVarint64(out, seg.packs.size());
  for (const auto& p : seg.packs) {
    Append(out, p.pack.view());
    PutVarint64(out, p.pack_size);
    PutVarint64(out, p.blobs.size());
    for (const auto& b : p.blobs) {
      out.push_back(static_cast<uint8_t>(b.type));
      Append(out, b.id.view());
      PutVarint64(out, b.offset);
      PutVarint64(out, b.length);
      PutVarint64(out, b.raw_length);
    }
  }
  PutVarint64(out, seg.supersedes.size());
  for (const auto& id : seg.supersedes) Append(out, id.view());
  return out;
}

Result<IndexSegment> DecodeIndexSegment(ByteView plaintext) {
  auto bad = [](const char* why) { return Err(Status::Corruption(std::string("index segment: ") + why)); };
  Reader r(plaintext);
  uint8_t version;
  if (!r.Byte(&version) || version != kIndexVersion) return bad("unknown version");
  uint64_t npacks;
  // Each pack takes at least 34 bytes, each blob at least 36: bound counts
  // by the input so hostile counts cannot make us allocate.
  if (!r.Varint64(&npacks) || npacks > r.remaining() / 34) return bad("bad pack count");
  IndexSegment seg;
  seg.packs.resize(static_cast<size_t>(npacks));
  for (auto& p : seg.packs) {
    ByteView id;
    uint64_t nblobs;
    if (!r.Raw(32, &id) || !r.Varint64(&p.pack_size) || !r.Varint64(&nblobs) ||
        nblobs > r.remaining() / 36) {
      return bad("truncated pack entry");
    }
    p.pack = Id::FromView(id);
    p.blobs.resize(static_cast<size_t>(nblobs));
    for (auto& b : p.blobs) {
      uint8_t type;
      ByteView bid;
      if (!r.Byte(&type) || type > 1 || !r.Raw(32, &bid) || !r.Varint32(&b.offset) ||
          !r.Varint32(&b.length) || !r.Varint32(&b.raw_length)) {
        return bad("truncated or invalid blob entry");
      }
      b.type = static_cast<BlobType>(type);
      b.id = Id::FromView(bid);
      if (uint64_t{b.offset} + b.length > p.pack_size) return bad("blob lies outside its pack");
    }
  }
  uint64_t nsup;
  if (!r.Varint64(&nsup) || nsup > r.remaining() / 32) return bad("bad supersedes count");
  seg.supersedes.resize(static_cast<size_t>(nsup));
  for (auto& id : seg.supersedes) {
    ByteView v;
    r.Raw(32, &v);
    id = Id::FromView(v);
  }
  if (!r.empty()) return bad("trailing bytes");
  return seg;
}

}  // namespace cairn
