// Cryptographic primitives, all from OpenSSL 3 (EVP): SHA-256, HMAC-SHA256,
// AES-256-GCM, scrypt, random bytes. Nothing here is hand-rolled crypto.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "common/id.h"
#include "common/status.h"

namespace cairn {

using Key32 = std::array<uint8_t, 32>;

// The repository's secret keys; wrapped in keys/<id> by password-derived keys.
struct MasterKeys {
  Key32 encryption;  // AES-256-GCM key for every blob and object
  Key32 mac;         // HMAC-SHA256 key for blob ids and the chunker's gear table
};

// Fills out with cryptographically secure random bytes (RAND_bytes); aborts
// the process if the RNG fails (continuing without randomness is unsafe).
void RandomBytes(MutableByteView out);
MasterKeys NewMasterKeys();

Id Sha256(ByteView data);

// Incremental SHA-256. Not thread-safe; one per stream.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  Id Finish();  // the stream is reset afterwards and may be reused
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Id HmacSha256(const Key32& key, ByteView data);

// scrypt (RFC 7914) via EVP_KDF. InvalidArgument for parameters OpenSSL
// rejects (n not a power of two, memory over the limit).
struct ScryptParams {
  uint64_t n = 1 << 15;
  uint32_t r = 8;
  uint32_t p = 1;
};
Result<Key32> Scrypt(std::string_view password, ByteView salt, const ScryptParams& params);

// Authenticated encryption with the repository keys.
// Sealed layout: nonce (12 random bytes) | ciphertext | GCM tag (16 bytes).
// Thread-safe: immutable after construction; each call uses its own context.
class Crypto {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;

  explicit Crypto(const MasterKeys& keys);
  ~Crypto();
  Crypto(const Crypto&) = delete;
  Crypto& operator=(const Crypto&) = delete;

  const MasterKeys& keys() const { return keys_; }

  // Blob id: HMAC-SHA256(mac key, plaintext).
  Id BlobId(ByteView plaintext) const;

  // Appends Seal(plaintext) to out; aad is authenticated, not stored.
  void Seal(ByteView plaintext, ByteView aad, Bytes& out) const;
  // Appends the plaintext of sealed to out. Corruption when the tag does not
  // verify (wrong key, flipped byte, wrong aad) or sealed is too short; out is
  // left as it was in that case.
  Status Open(ByteView sealed, ByteView aad, Bytes& out) const;
  // Open without a second buffer: decrypts sealed where it lies and returns
  // the plaintext, which is the part of sealed after the nonce (size
  // sealed.size() - kOverhead). Corruption as Open; the bytes of sealed are
  // then unspecified. For large objects (index segments of tens of MiB),
  // whose ciphertext and plaintext would otherwise be in memory together.
  Result<MutableByteView> OpenInPlace(MutableByteView sealed, ByteView aad) const;

 private:
  struct Impl;  // prefetched EVP_CIPHER / EVP_MAC, so calls skip provider lookup
  MasterKeys keys_;
  std::unique_ptr<Impl> impl_;
};

// Seals with a key that is not the repository's (the password-derived key
// that wraps MasterKeys in a key file). Same layout as Crypto::Seal.
void SealWithKey(const Key32& key, ByteView plaintext, ByteView aad, Bytes& out);
Status OpenWithKey(const Key32& key, ByteView sealed, ByteView aad, Bytes& out);

}  // namespace cairn
