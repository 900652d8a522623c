// OpenSSL 3 EVP only: the deprecated low-level APIs (SHA256_Init, AES_*,
// HMAC_*) are compiled out below so that using one by mistake fails to build.
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include "repo/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cairn {

namespace {

// OpenSSL fails here only on allocation failure or a broken installation;
// neither can be handled meaningfully, and continuing could leak plaintext.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "cairn: fatal: OpenSSL %s failed\n", what);
  std::abort();
}

// Provider lookups in OpenSSL 3 take locks and walk a name map: every
// algorithm is fetched once per process. The set is created on first use
// (thread-safe static initialisation) and never modified afterwards, so it
// is shared by all threads without locking. It is process-wide rather than
// per Crypto because the free functions (Sha256, SealWithKey) need it too.
struct Algorithms {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  Algorithms() {
    if (!sha256 || !gcm || !hmac) Fatal("algorithm fetch");
  }
  ~Algorithms() {
    EVP_MD_free(sha256);
    EVP_CIPHER_free(gcm);
    EVP_MAC_free(hmac);
  }
  Algorithms(const Algorithms&) = delete;
  Algorithms& operator=(const Algorithms&) = delete;
};

const Algorithms& Algos() {
  static const Algorithms algos;
  return algos;
}

// The EVP update functions take int lengths: feed larger inputs in pieces.
constexpr size_t kMaxPiece = size_t{1} << 30;
constexpr int kTagLen = static_cast<int>(Crypto::kTagSize);

// One EVP_CIPHER_CTX per call: contexts hold per-message state, and creating
// one is cheap next to the AES work on a chunk.
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  CipherCtx() {
    if (!ctx) Fatal("cipher context");
  }
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
};

// Appends nonce | ciphertext | tag to out, written in place after one resize.
void GcmSeal(const uint8_t* key, ByteView plaintext, ByteView aad, Bytes& out) {
  CipherCtx c;
  const size_t start = out.size();
  out.resize(start + Crypto::kOverhead + plaintext.size());
  uint8_t* nonce = out.data() + start;
  uint8_t* ct = nonce + Crypto::kNonceSize;
  RandomBytes(MutableByteView(nonce, Crypto::kNonceSize));
  int len = 0;
  if (EVP_EncryptInit_ex2(c.ctx, Algos().gcm, key, nonce, nullptr) != 1) Fatal("GCM init");
  for (size_t done = 0; done < aad.size(); done += kMaxPiece) {
    const int n = static_cast<int>(std::min(aad.size() - done, kMaxPiece));
    if (EVP_EncryptUpdate(c.ctx, nullptr, &len, aad.data() + done, n) != 1) Fatal("GCM aad");
  }
  size_t done = 0;
  while (done < plaintext.size()) {
    const int n = static_cast<int>(std::min(plaintext.size() - done, kMaxPiece));
    if (EVP_EncryptUpdate(c.ctx, ct + done, &len, plaintext.data() + done, n) != 1) {
      Fatal("GCM encrypt");
    }
    done += static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(c.ctx, ct + done, &len) != 1) Fatal("GCM final");
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_GET_TAG, kTagLen, ct + plaintext.size()) != 1) {
    Fatal("GCM tag");
  }
}

// Decrypts ct_len bytes at ct to pt (pt == ct decrypts in place; OpenSSL
// refuses a partial overlap) and verifies tag. False on any failure.
bool GcmDecrypt(const uint8_t* key, const uint8_t* nonce, const uint8_t* ct, size_t ct_len,
                const uint8_t* tag_in, ByteView aad, uint8_t* pt) {
  CipherCtx c;
  uint8_t tag[Crypto::kTagSize];
  std::copy_n(tag_in, Crypto::kTagSize, tag);
  int len = 0;
  bool ok = EVP_DecryptInit_ex2(c.ctx, Algos().gcm, key, nonce, nullptr) == 1;
  for (size_t done = 0; ok && done < aad.size(); done += kMaxPiece) {
    const int n = static_cast<int>(std::min(aad.size() - done, kMaxPiece));
    ok = EVP_DecryptUpdate(c.ctx, nullptr, &len, aad.data() + done, n) == 1;
  }
  size_t done = 0;
  while (ok && done < ct_len) {
    const int n = static_cast<int>(std::min(ct_len - done, kMaxPiece));
    ok = EVP_DecryptUpdate(c.ctx, pt + done, &len, ct + done, n) == 1;
    done += static_cast<size_t>(len);
  }
  return ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag) == 1 &&
         EVP_DecryptFinal_ex(c.ctx, pt + done, &len) == 1;
}

Status TooShort(size_t size) {
  return Status::Corruption("sealed data too short (" + std::to_string(size) +
                            " bytes, need at least " + std::to_string(Crypto::kOverhead) + ")");
}

Status AuthFailed() {
  return Status::Corruption("authentication failed (stored bytes corrupted or wrong key)");
}

// Decrypts into out (appended) and verifies the tag; on any failure out is
// resized back to its original length. `sealed` must not point into `out`
// (the resize may move out's storage).
Status GcmOpen(const uint8_t* key, ByteView sealed, ByteView aad, Bytes& out) {
  if (sealed.size() < Crypto::kOverhead) return TooShort(sealed.size());
  const uint8_t* nonce = sealed.data();
  const uint8_t* ct = nonce + Crypto::kNonceSize;
  const size_t ct_len = sealed.size() - Crypto::kOverhead;
  const size_t start = out.size();
  out.resize(start + ct_len);
  if (!GcmDecrypt(key, nonce, ct, ct_len, ct + ct_len, aad, out.data() + start)) {
    out.resize(start);
    return AuthFailed();
  }
  return Status::OK();
}

// An HMAC-SHA256 context with the key already set. Mac() duplicates it per
// message: EVP_MAC_CTX_dup only reads the template, so concurrent Mac() calls
// on one template are safe, and each skips the key setup (two SHA-256 blocks
// over the padded key).
class HmacTemplate {
 public:
  explicit HmacTemplate(const Key32& key) : ctx_(EVP_MAC_CTX_new(Algos().hmac)) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx_ || EVP_MAC_init(ctx_, key.data(), key.size(), params) != 1) Fatal("HMAC init");
  }
  ~HmacTemplate() { EVP_MAC_CTX_free(ctx_); }
  HmacTemplate(const HmacTemplate&) = delete;
  HmacTemplate& operator=(const HmacTemplate&) = delete;

  Id Mac(ByteView data) const {
    EVP_MAC_CTX* c = EVP_MAC_CTX_dup(ctx_);
    if (!c) Fatal("HMAC dup");
    Id id;
    size_t len = 0;
    if (EVP_MAC_update(c, data.data(), data.size()) != 1 ||
        EVP_MAC_final(c, id.bytes.data(), &len, id.bytes.size()) != 1 || len != Id::kSize) {
      Fatal("HMAC");
    }
    EVP_MAC_CTX_free(c);
    return id;
  }

 private:
  EVP_MAC_CTX* ctx_;  // never modified after construction
};

// scrypt's working memory is 128*r*(N+2) + 128*r*p bytes; n = 2^20, r = 8
// needs 1 GiB. The cap keeps a crafted key file from making us allocate
// without bound: OpenSSL refuses parameters over it.
constexpr uint64_t kScryptMaxMem = uint64_t{2} << 30;

}  // namespace

void RandomBytes(MutableByteView out) {
  for (size_t done = 0; done < out.size(); done += kMaxPiece) {
    const int n = static_cast<int>(std::min(out.size() - done, kMaxPiece));
    if (RAND_bytes(out.data() + done, n) != 1) Fatal("RAND_bytes");
  }
}

MasterKeys NewMasterKeys() {
  MasterKeys k;
  RandomBytes(k.encryption);
  RandomBytes(k.mac);
  return k;
}

Id Sha256(ByteView data) {
  Id id;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, Algos().sha256, nullptr) != 1 ||
      len != Id::kSize) {
    Fatal("SHA-256");
  }
  return id;
}

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex2(impl_->ctx, Algos().sha256, nullptr) != 1) {
    Fatal("SHA-256 init");
  }
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(ByteView data) {
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) Fatal("SHA-256 update");
}

Id Sha256Stream::Finish() {
  Id id;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, id.bytes.data(), &len) != 1 || len != Id::kSize ||
      EVP_DigestInit_ex2(impl_->ctx, Algos().sha256, nullptr) != 1) {
    Fatal("SHA-256 final");
  }
  return id;
}

Id HmacSha256(const Key32& key, ByteView data) {
  Id id;
  size_t len = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* c = EVP_MAC_CTX_new(Algos().hmac);
  if (!c || EVP_MAC_init(c, key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(c, data.data(), data.size()) != 1 ||
      EVP_MAC_final(c, id.bytes.data(), &len, id.bytes.size()) != 1 || len != Id::kSize) {
    Fatal("HMAC");
  }
  EVP_MAC_CTX_free(c);
  return id;
}

Result<Key32> Scrypt(std::string_view password, ByteView salt, const ScryptParams& p) {
  auto rejected = [&](std::string_view why) {
    return Err(Status::InvalidArgument("scrypt parameters N=" + std::to_string(p.n) +
                                       " r=" + std::to_string(p.r) + " p=" + std::to_string(p.p) +
                                       " rejected: " + std::string(why)));
  };
  if (p.n < 2 || (p.n & (p.n - 1)) != 0) return rejected("N must be a power of two above 1");
  if (p.r == 0 || p.p == 0) return rejected("r and p must be positive");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);  // once per key file: not cached
  if (!kdf) Fatal("scrypt fetch");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) Fatal("scrypt context");
  uint64_t n = p.n;
  uint32_t r = p.r, par = p.p;
  uint64_t maxmem = kScryptMaxMem;
  // OpenSSL only reads these buffers; an empty view may have a null data().
  static const char kEmpty = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.empty() ? &kEmpty : password.data()),
          password.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SALT,
          const_cast<uint8_t*>(salt.empty() ? reinterpret_cast<const uint8_t*>(&kEmpty)
                                            : salt.data()),
          salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  Key32 out;
  const int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return rejected("OpenSSL refused them (over 2 GiB of memory, or out of range)");
  return out;
}

struct Crypto::Impl {
  explicit Impl(const Key32& mac) : blob_id(mac) {}
  HmacTemplate blob_id;
};

Crypto::Crypto(const MasterKeys& keys) : keys_(keys), impl_(std::make_unique<Impl>(keys.mac)) {}

Crypto::~Crypto() { OPENSSL_cleanse(&keys_, sizeof(keys_)); }

Id Crypto::BlobId(ByteView plaintext) const { return impl_->blob_id.Mac(plaintext); }

void Crypto::Seal(ByteView plaintext, ByteView aad, Bytes& out) const {
  GcmSeal(keys_.encryption.data(), plaintext, aad, out);
}

Status Crypto::Open(ByteView sealed, ByteView aad, Bytes& out) const {
  return GcmOpen(keys_.encryption.data(), sealed, aad, out);
}

Result<MutableByteView> Crypto::OpenInPlace(MutableByteView sealed, ByteView aad) const {
  if (sealed.size() < kOverhead) return Err(TooShort(sealed.size()));
  uint8_t* ct = sealed.data() + kNonceSize;
  const size_t ct_len = sealed.size() - kOverhead;
  if (!GcmDecrypt(keys_.encryption.data(), sealed.data(), ct, ct_len, ct + ct_len, aad, ct)) {
    return Err(AuthFailed());
  }
  return MutableByteView(ct, ct_len);
}

void SealWithKey(const Key32& key, ByteView plaintext, ByteView aad, Bytes& out) {
  GcmSeal(key.data(), plaintext, aad, out);
}

Status OpenWithKey(const Key32& key, ByteView sealed, ByteView aad, Bytes& out) {
  return GcmOpen(key.data(), sealed, aad, out);
}

}  // namespace cairn
