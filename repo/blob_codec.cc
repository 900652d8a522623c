#include "repo/blob_codec.h"

#include <zstd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace cairn {

namespace {

constexpr uint8_t kRaw = 0;   // payload is the plaintext
constexpr uint8_t kZstd = 1;  // payload is one zstd frame that declares its size
// Inputs this short almost never shrink by the frame overhead (~10 bytes).
constexpr size_t kMinCompressSize = 64;
// A zstd frame may claim any size; decoding refuses more than this, so a
// stored object cannot make us allocate without bound. Chunks are at most
// 64 MiB (ValidateChunkerParams) and objects are far smaller than this.
constexpr unsigned long long kMaxDecodedSize = 256ull << 20;

constexpr std::string_view kBlobAadPrefix = "cairn.blob";
constexpr size_t kBlobAadSize = kBlobAadPrefix.size() + 1 + Id::kSize;

// "cairn.blob" || u8(type) || id: binds a blob's bytes to its type and id.
std::array<uint8_t, kBlobAadSize> BlobAad(BlobType type, const Id& id) {
  std::array<uint8_t, kBlobAadSize> aad;
  std::memcpy(aad.data(), kBlobAadPrefix.data(), kBlobAadPrefix.size());
  aad[kBlobAadPrefix.size()] = static_cast<uint8_t>(type);
  std::memcpy(aad.data() + kBlobAadPrefix.size() + 1, id.bytes.data(), Id::kSize);
  return aad;
}

}  // namespace

std::string_view BlobTypeName(BlobType t) {
  switch (t) {
    case BlobType::kData:
      return "data";
    case BlobType::kTree:
      return "tree";
  }
  return "unknown";
}

// Both contexts and the scratch buffer live as long as the codec, so a
// steady stream of Encode/Decode calls allocates nothing but growth of the
// caller's `out`.
struct BlobCodec::Impl {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Bytes scratch;  // flag || payload: before sealing, or after opening

  Impl() {
    if (!cctx || !dctx) {
      std::fprintf(stderr, "cairn: fatal: cannot allocate zstd contexts\n");
      std::abort();
    }
  }
  ~Impl() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void Seal(const Crypto& crypto, int level, ByteView plaintext, ByteView aad, Bytes& out);
  Status Open(const Crypto& crypto, ByteView stored, ByteView aad, Bytes& out);
  // Appends the plaintext of an opened flag || payload to out (which must
  // not overlap s).
  Status Unwrap(ByteView s, Bytes& out);
};

void BlobCodec::Impl::Seal(const Crypto& crypto, int level, ByteView plaintext, ByteView aad,
                           Bytes& out) {
  Bytes& s = scratch;
  bool compressed = false;
  if (level > 0 && plaintext.size() >= kMinCompressSize) {
    // Compress straight into scratch after the flag byte; keep the frame
    // only if it is smaller than the plaintext (ZSTD_compress2 writes the
    // content size into the frame header, which Open relies on).
    const size_t bound = ZSTD_compressBound(plaintext.size());
    s.resize(1 + bound);
    const size_t n = ZSTD_compress2(cctx, s.data() + 1, bound, plaintext.data(), plaintext.size());
    if (!ZSTD_isError(n) && n < plaintext.size()) {
      s[0] = kZstd;
      s.resize(1 + n);
      compressed = true;
    }
  }
  if (!compressed) {
    s.resize(1 + plaintext.size());
    s[0] = kRaw;
    if (!plaintext.empty()) std::memcpy(s.data() + 1, plaintext.data(), plaintext.size());
  }
  crypto.Seal(s, aad, out);
}

Status BlobCodec::Impl::Open(const Crypto& crypto, ByteView stored, ByteView aad, Bytes& out) {
  // Authenticate first: nothing below looks at bytes the key did not vouch for.
  Bytes& s = scratch;
  s.clear();
  CAIRN_RETURN_IF_ERROR(crypto.Open(stored, aad, s));
  return Unwrap(s, out);
}

Status BlobCodec::Impl::Unwrap(ByteView s, Bytes& out) {
  if (s.empty()) return Status::Corruption("authenticated payload has no compression flag");
  const ByteView payload(s.data() + 1, s.size() - 1);
  if (s[0] == kRaw) {
    // resize + memcpy: Bytes' allocator has a custom construct(), so
    // vector::insert would copy byte by byte (about 3x slower on 1 MiB).
    const size_t start = out.size();
    out.resize(start + payload.size());
    if (!payload.empty()) std::memcpy(out.data() + start, payload.data(), payload.size());
    return Status::OK();
  }
  if (s[0] != kZstd) {
    return Status::Corruption("unknown compression flag " + std::to_string(s[0]));
  }
  const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return Status::Corruption("bad zstd frame header");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Status::Corruption("zstd frame does not declare its size");
  }
  if (size > kMaxDecodedSize) {
    return Status::Corruption("zstd frame declares " + std::to_string(size) +
                              " bytes, over the 256 MiB limit");
  }
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>(size));
  // The destination holds exactly the declared size: a frame (or trailing
  // frames) that would produce more fails with dstSize_tooSmall.
  const size_t n = ZSTD_decompressDCtx(dctx, out.data() + start, static_cast<size_t>(size),
                                       payload.data(), payload.size());
  if (ZSTD_isError(n) || n != size) {
    out.resize(start);
    return Status::Corruption(
        std::string("zstd decompression failed: ") +
        (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size differs from header"));
  }
  return Status::OK();
}

BlobCodec::BlobCodec(const Crypto& crypto, int zstd_level)
    : crypto_(crypto), level_(zstd_level), impl_(std::make_unique<Impl>()) {
  // zstd clamps levels above its maximum; 0 (no compression) never reaches it.
  if (level_ > 0) ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_compressionLevel, level_);
}

BlobCodec::~BlobCodec() = default;

void BlobCodec::Encode(BlobType type, const Id& id, ByteView plaintext, Bytes& out) {
  const auto aad = BlobAad(type, id);
  impl_->Seal(crypto_, level_, plaintext, aad, out);
}

Status BlobCodec::Decode(BlobType type, const Id& id, ByteView stored, Bytes& out) {
  const auto aad = BlobAad(type, id);
  return impl_->Open(crypto_, stored, aad, out);
}

void BlobCodec::EncodeObject(std::string_view aad, ByteView plaintext, Bytes& out) {
  impl_->Seal(crypto_, level_, plaintext, AsBytes(aad), out);
}

Status BlobCodec::DecodeObject(std::string_view aad, ByteView stored, Bytes& out) {
  return impl_->Open(crypto_, stored, AsBytes(aad), out);
}

Status BlobCodec::DecodeObjectInPlace(std::string_view aad, Bytes& buf) {
  // Not through scratch: the codec would keep a buffer of the largest
  // object for its whole life, and Open would hold stored, scratch and out
  // at once (three copies of a 36 MiB segment on a mount's first load).
  CAIRN_ASSIGN_OR_RETURN(MutableByteView s, crypto_.OpenInPlace(buf, AsBytes(aad)));
  if (!s.empty() && s[0] == kRaw) {
    std::memmove(buf.data(), s.data() + 1, s.size() - 1);
    buf.resize(s.size() - 1);
    return Status::OK();
  }
  Bytes out;
  CAIRN_RETURN_IF_ERROR(impl_->Unwrap(s, out));
  buf.swap(out);
  return Status::OK();
}

}  // namespace cairn
