// BlobCodec: plaintext blob <-> stored bytes.
// Stored = Crypto::Seal(flag || payload, aad = "cairn.blob" || type || id)
// where flag 0 = payload is the plaintext, 1 = payload is a zstd frame of
// it (used only when it is smaller). Binding type and id in the AAD means a
// blob cannot be served in place of another.
//
// Not thread-safe: holds zstd contexts; use one per worker thread.
#pragma once

#include <memory>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"
#include "repo/crypto.h"

namespace cairn {

enum class BlobType : uint8_t { kData = 0, kTree = 1 };
std::string_view BlobTypeName(BlobType t);  // "data" / "tree"

class BlobCodec {
 public:
  // zstd_level 0 disables compression.
  BlobCodec(const Crypto& crypto, int zstd_level);
  ~BlobCodec();
  BlobCodec(const BlobCodec&) = delete;
  BlobCodec& operator=(const BlobCodec&) = delete;

  // Appends the stored form of plaintext (whose id the caller computed) to out.
  void Encode(BlobType type, const Id& id, ByteView plaintext, Bytes& out);
  // Appends the plaintext to out. Corruption (saying what failed; callers
  // name the blob and pack) when authentication or decompression fails.
  Status Decode(BlobType type, const Id& id, ByteView stored, Bytes& out);

  // Seal/open a whole object that is not a blob (index segment, snapshot,
  // pack header), compressed the same way. aad names the object kind.
  void EncodeObject(std::string_view aad, ByteView plaintext, Bytes& out);
  Status DecodeObject(std::string_view aad, ByteView stored, Bytes& out);
  // DecodeObject that replaces the stored bytes in buf by the plaintext,
  // decrypting in place: at most the stored and the decompressed object are
  // in memory at once, and for an uncompressed object only one buffer (its
  // capacity stays the stored size). Used for index segments, which may be
  // tens of MiB. On error buf's contents are unspecified.
  Status DecodeObjectInPlace(std::string_view aad, Bytes& buf);

 private:
  struct Impl;
  const Crypto& crypto_;
  int level_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
