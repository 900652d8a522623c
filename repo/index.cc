// Index segments. Layout: doc/format.md, "Index segments".
#include "repo/index.h"

#include <algorithm>
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

// Reader's Varint32, inline: Parse and IndexSegmentView::blob decode a
// million entries of a large segment, where Reader's out-of-line calls
// were a quarter of a fresh mount's load time. Same acceptance: up to 10
// bytes, a value that fits 32 bits.
inline bool GetVarint32(const uint8_t*& p, const uint8_t* end, uint32_t* v) {
  uint64_t result = 0;
  for (unsigned shift = 0; shift <= 63 && p < end; shift += 7) {
    const uint64_t byte = *p++;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      if (result > UINT32_MAX) return false;
      *v = static_cast<uint32_t>(result);
      return true;
    }
  }
  return false;
}

// One blob entry (type, id, offset, length, raw_length) at p; returns the
// byte after it, or nullptr when it is truncated or a varint is invalid.
// The type is not checked here.
inline const uint8_t* GetBlobEntry(const uint8_t* p, const uint8_t* end, uint8_t* type,
                                   PackEntry* b) {
  if (end - p < static_cast<ptrdiff_t>(1 + Id::kSize)) return nullptr;
  *type = *p++;
  std::memcpy(b->id.bytes.data(), p, Id::kSize);
  p += Id::kSize;
  if (!GetVarint32(p, end, &b->offset) || !GetVarint32(p, end, &b->length) ||
      !GetVarint32(p, end, &b->raw_length)) {
    return nullptr;
  }
  return p;
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

Result<IndexSegmentView> IndexSegmentView::Parse(ByteView plaintext) {
  // Blob positions are 32-bit; a segment is far smaller (objects decode to
  // at most 256 MiB, BlobCodec).
  if (plaintext.size() > UINT32_MAX) return Err(Bad("larger than 4 GiB"));
  Reader r(plaintext);
  auto pos = [&] { return plaintext.size() - r.remaining(); };
  uint8_t version;
  if (!r.Byte(&version) || version != kIndexVersion) return Err(Bad("unknown version"));
  uint64_t npacks;
  if (!r.Varint64(&npacks) || npacks > r.remaining() / kMinPackSize) {
    return Err(Bad("bad pack count"));
  }
  IndexSegmentView view;
  view.plain_ = plaintext;
  view.packs_.resize(static_cast<size_t>(npacks));
  // An upper bound from the input (within ~20% for real segments), so the
  // positions never double past it.
  view.pos_.reserve(r.remaining() / kMinBlobSize);
  for (Pack& p : view.packs_) {
    uint64_t nblobs;
    if (!ReadId(r, &p.id) || !r.Varint64(&p.size) || !r.Varint64(&nblobs)) {
      return Err(Bad("truncated pack entry"));
    }
    if (nblobs > r.remaining() / kMinBlobSize) return Err(Bad("bad blob count"));
    p.first_blob = view.pos_.size();
    const uint8_t* const start = plaintext.data() + pos();
    const uint8_t* const end = plaintext.data() + plaintext.size();
    const uint8_t* at = start;
    for (uint64_t i = 0; i < nblobs; ++i) {
      view.pos_.push_back(static_cast<uint32_t>(at - plaintext.data()));
      uint8_t type;
      PackEntry b;
      at = GetBlobEntry(at, end, &type, &b);
      if (!at) return Err(Bad("truncated or invalid blob entry"));
      if (type > static_cast<uint8_t>(BlobType::kTree)) return Err(Bad("unknown blob type"));
      if (b.offset >= p.size || uint64_t{b.offset} + b.length > p.size) {
        return Err(Bad("blob lies outside its pack"));
      }
    }
    ByteView skipped;
    (void)r.Raw(static_cast<size_t>(at - start), &skipped);  // the entries just read
  }
  uint64_t nsup;
  if (!r.Varint64(&nsup) || nsup > r.remaining() / Id::kSize) {
    return Err(Bad("bad supersedes count"));
  }
  view.supersedes_.resize(static_cast<size_t>(nsup));
  for (Id& id : view.supersedes_) {
    if (!ReadId(r, &id)) return Err(Bad("truncated supersedes list"));
  }
  if (!r.empty()) return Err(Bad("trailing bytes"));
  return view;
}

PackEntry IndexSegmentView::blob(size_t i) const {
  // Parse validated the entry: this cannot fail.
  PackEntry b;
  uint8_t type = 0;
  (void)GetBlobEntry(plain_.data() + pos_[i], plain_.data() + plain_.size(), &type, &b);
  b.type = static_cast<BlobType>(type);
  return b;
}

size_t IndexSegmentView::pack_of(size_t i) const {
  // The last pack whose first blob is at or before i (packs without blobs
  // share first_blob with the next one and are skipped by upper_bound).
  auto it = std::upper_bound(packs_.begin(), packs_.end(), i,
                             [](size_t b, const Pack& p) { return b < p.first_blob; });
  return static_cast<size_t>(it - packs_.begin()) - 1;
}

Result<IndexSegment> DecodeIndexSegment(ByteView plaintext) {
  CAIRN_ASSIGN_OR_RETURN(IndexSegmentView view, IndexSegmentView::Parse(plaintext));
  IndexSegment seg;
  seg.packs.resize(view.packs().size());
  const size_t nblobs = view.blob_count();
  for (size_t p = 0; p < seg.packs.size(); ++p) {
    const auto& vp = view.packs()[p];
    const size_t end = p + 1 < seg.packs.size() ? view.packs()[p + 1].first_blob : nblobs;
    IndexPack& out = seg.packs[p];
    out.pack = vp.id;
    out.pack_size = vp.size;
    out.blobs.reserve(end - vp.first_blob);
    for (size_t i = vp.first_blob; i < end; ++i) out.blobs.push_back(view.blob(i));
  }
  seg.supersedes = view.supersedes();
  return seg;
}

}  // namespace cairn
