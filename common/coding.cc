#include "common/coding.h"

namespace cairn {

void PutFixed32(Bytes& out, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  out.insert(out.end(), b, b + 4);
}

void PutFixed64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  EncodeFixed64(v, b);
  out.insert(out.end(), b, b + 8);
}

void EncodeFixed64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

void EncodeBigEndian64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

void PutBigEndian64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  EncodeBigEndian64(v, b);
  out.insert(out.end(), b, b + 8);
}

uint64_t DecodeBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void PutVarint64(Bytes& out, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<uint8_t>(v);
  out.insert(out.end(), b, b + n);
}

void PutVarsint64(Bytes& out, int64_t v) {
  PutVarint64(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutLengthPrefixed(Bytes& out, ByteView v) {
  PutVarint64(out, v.size());
  Append(out, v);
}

uint32_t DecodeFixed32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t DecodeFixed64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool Reader::Fixed32(uint32_t* v) {
  if (in_.size() < 4) return false;
  *v = DecodeFixed32(in_.data());
  in_ = in_.subspan(4);
  return true;
}

bool Reader::Fixed64(uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = DecodeFixed64(in_.data());
  in_ = in_.subspan(8);
  return true;
}

bool Reader::Varint64(uint64_t* v) {
  uint64_t result = 0;
  for (unsigned shift = 0, i = 0; shift <= 63 && i < in_.size(); shift += 7, ++i) {
    uint64_t byte = in_[i];
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      in_ = in_.subspan(i + 1);
      return true;
    }
  }
  return false;
}

bool Reader::Varint32(uint32_t* v) {
  uint64_t w;
  if (!Varint64(&w) || w > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(w);
  return true;
}

bool Reader::Varsint64(int64_t* v) {
  uint64_t u;
  if (!Varint64(&u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Reader::Byte(uint8_t* v) {
  if (in_.empty()) return false;
  *v = in_[0];
  in_ = in_.subspan(1);
  return true;
}

bool Reader::Raw(size_t n, ByteView* v) {
  if (in_.size() < n) return false;
  *v = in_.first(n);
  in_ = in_.subspan(n);
  return true;
}

bool Reader::LengthPrefixed(ByteView* v) {
  uint64_t n;
  if (!Varint64(&n) || n > in_.size()) return false;
  return Raw(static_cast<size_t>(n), v);
}

bool Reader::LengthPrefixed(std::string* v) {
  ByteView b;
  if (!LengthPrefixed(&b)) return false;
  v->assign(reinterpret_cast<const char*>(b.data()), b.size());
  return true;
}

}  // namespace cairn
