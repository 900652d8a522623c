// Little-endian fixed-width and LEB128 varint encoding (LevelDB util/coding),
// and big-endian fixed64 for LMDB keys that must sort numerically. Decoders take a ByteView cursor, advance it and return false on truncation:
// they never read past the view, so parsers built on them are safe on
// arbitrary input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace cairn {

void PutFixed32(Bytes& out, uint32_t v);
void PutFixed64(Bytes& out, uint64_t v);
void PutVarint64(Bytes& out, uint64_t v);
// Signed values zig-zag encoded so small negatives stay short.
void PutVarsint64(Bytes& out, int64_t v);
// Varint length followed by the bytes.
void PutLengthPrefixed(Bytes& out, ByteView v);
inline void PutLengthPrefixed(Bytes& out, std::string_view v) { PutLengthPrefixed(out, AsBytes(v)); }

// Into a caller's 8-byte buffer (no allocation).
void EncodeFixed64(uint64_t v, uint8_t* out);
uint32_t DecodeFixed32(const uint8_t* p);
uint64_t DecodeFixed64(const uint8_t* p);

// Big-endian: byte-wise order equals numeric order, so LMDB keys made of
// these (the caches' slab and ordinal keys) sort as numbers.
void EncodeBigEndian64(uint64_t v, uint8_t* out);
void PutBigEndian64(Bytes& out, uint64_t v);
uint64_t DecodeBigEndian64(const uint8_t* p);

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool Fixed32(uint32_t* v);
  bool Fixed64(uint64_t* v);
  bool Varint64(uint64_t* v);
  bool Varint32(uint32_t* v);
  bool Varsint64(int64_t* v);
  bool Byte(uint8_t* v);
  bool Raw(size_t n, ByteView* v);
  bool LengthPrefixed(ByteView* v);
  bool LengthPrefixed(std::string* v);
  size_t remaining() const { return in_.size(); }
  bool empty() const { return in_.empty(); }

 private:
  ByteView in_;
};

}  // namespace cairn
