#include "repo/blob_codec.h"

#include <zstd.h>

#include <cstring>

namespace cairn {

namespace {
constexpr uint8_t kRaw = 0;
constexpr uint8_t kZstd = 1;
constexpr unsigned long long kMaxDecoded = 256ull * 1024 * 1024;
constexpr char kBlobAad[] = "cairn.blob";
}  // namespace

std::string_view BlobTypeName(BlobType t) { return t == BlobType::kTree ? "tree" : "data"; }

struct BlobCodec::Impl {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Bytes scratch;  // flag byte + payload before sealing, or plaintext after opening
  ~Impl() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

BlobCodec::BlobCodec(const Crypto& crypto, int zstd_level)
    : crypto_(crypto), level_(zstd_level), impl_(std::make_unique<Impl>()) {
  if (level_ > 0) ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_compressionLevel, level_);
}

BlobCodec::~BlobCodec() = default;

static void BlobAad(BlobType type, const Id& id, uint8_t (&aad)[sizeof(kBlobAad) - 1 + 1 + 32]) {
  std::memcpy(aad, kBlobAad, sizeof(kBlobAad) - 1);
  aad[sizeof(kBlobAad) - 1] = static_cast<uint8_t>(type);
  std::memcpy(aad + sizeof(kBlobAad), id.bytes.data(), 32);
}

void BlobCodec::EncodeObject(std::string_view aad, ByteView plaintext, Bytes& out) {
  Bytes& s = impl_->scratch;
  bool compressed = false;
  if (level_ > 0 && plaintext.size() >= 64) {
    size_t bound = ZSTD_compressBound(plaintext.size());
    s.resize(1 + bound);
    size_t n = ZSTD_compress2(impl_->cctx, s.data() + 1, bound, plaintext.data(), plaintext.size());
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
  crypto_.Seal(s, AsBytes(aad), out);
}

Status BlobCodec::DecodeObject(std::string_view aad, ByteView stored, Bytes& out) {
  Bytes& s = impl_->scratch;
  s.clear();
  CAIRN_RETURN_IF_ERROR(crypto_.Open(stored, AsBytes(aad), s));
  if (s.empty()) return Status::Corruption("empty payload");
  ByteView payload(s.data() + 1, s.size() - 1);
  if (s[0] == kRaw) {
    Append(out, payload);
    return Status::OK();
  }
  if (s[0] != kZstd) return Status::Corruption("unknown compression flag " + std::to_string(s[0]));
  unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxDecoded) {
    return Status::Corruption("bad zstd frame header");
  }
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>(size));
  size_t n = ZSTD_decompressDCtx(impl_->dctx, out.data() + start, static_cast<size_t>(size),
                                 payload.data(), payload.size());
  if (ZSTD_isError(n) || n != size) {
    out.resize(start);
    return Status::Corruption("zstd decompression failed");
  }
  return Status::OK();
}

void BlobCodec::Encode(BlobType type, const Id& id, ByteView plaintext, Bytes& out) {
  uint8_t aad[sizeof(kBlobAad) - 1 + 1 + 32];
  BlobAad(type, id, aad);
  EncodeObject(std::string_view(reinterpret_cast<const char*>(aad), sizeof(aad)), plaintext, out);
}

Status BlobCodec::Decode(BlobType type, const Id& id, ByteView stored, Bytes& out) {
  uint8_t aad[sizeof(kBlobAad) - 1 + 1 + 32];
  BlobAad(type, id, aad);
  return DecodeObject(std::string_view(reinterpret_cast<const char*>(aad), sizeof(aad)), stored,
                      out);
}

}  // namespace cairn
