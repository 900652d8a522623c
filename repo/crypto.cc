#include "repo/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace cairn {

namespace {

[[noreturn]] void Fatal(const char* what) {
  fprintf(stderr, "cairn: fatal: OpenSSL %s failed\n", what);
  std::abort();
}

// Provider lookups are slow in OpenSSL 3: fetch each algorithm once. These
// are immutable after creation and safe to share between threads.
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
};

const Algorithms& Algos() {
  static const Algorithms algos;  // immutable after first use
  return algos;
}

void GcmSeal(EVP_CIPHER_CTX* ctx, const uint8_t* key, ByteView plaintext, ByteView aad,
             Bytes& out) {
  const size_t start = out.size();
  out.resize(start + Crypto::kOverhead + plaintext.size());
  uint8_t* nonce = out.data() + start;
  RandomBytes(MutableByteView(nonce, Crypto::kNonceSize));
  uint8_t* ct = nonce + Crypto::kNonceSize;
  int len = 0;
  if (EVP_EncryptInit_ex2(ctx, Algos().gcm, key, nonce, nullptr) != 1) Fatal("GCM init");
  if (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    Fatal("GCM aad");
  }
  size_t done = 0;
  while (done < plaintext.size()) {  // int-sized pieces
    int n = static_cast<int>(std::min<size_t>(plaintext.size() - done, 1 << 30));
    if (EVP_EncryptUpdate(ctx, ct + done, &len, plaintext.data() + done, n) != 1) Fatal("GCM");
    done += static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx, ct + done, &len) != 1) Fatal("GCM final");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Crypto::kTagSize, ct + plaintext.size()) != 1) {
    Fatal("GCM tag");
  }
}

Status GcmOpen(EVP_CIPHER_CTX* ctx, const uint8_t* key, ByteView sealed, ByteView aad,
               Bytes& out) {
  if (sealed.size() < Crypto::kOverhead) {
    return Status::Corruption("sealed data too short (" + std::to_string(sealed.size()) +
                              " bytes)");
  }
  const uint8_t* nonce = sealed.data();
  const uint8_t* ct = nonce + Crypto::kNonceSize;
  const size_t ct_len = sealed.size() - Crypto::kOverhead;
  const uint8_t* tag = ct + ct_len;
  const size_t start = out.size();
  out.resize(start + ct_len);
  int len = 0;
  bool ok = EVP_DecryptInit_ex2(ctx, Algos().gcm, key, nonce, nullptr) == 1 &&
            (aad.empty() ||
             EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1);
  size_t done = 0;
  while (ok && done < ct_len) {
    int n = static_cast<int>(std::min<size_t>(ct_len - done, 1 << 30));
    ok = EVP_DecryptUpdate(ctx, out.data() + start + done, &len, ct + done, n) == 1;
    done += static_cast<size_t>(len);
  }
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Crypto::kTagSize,
                           const_cast<uint8_t*>(tag)) == 1 &&
       EVP_DecryptFinal_ex(ctx, out.data() + start + done, &len) == 1;
  if (!ok) {
    out.resize(start);
    return Status::Corruption("authentication failed (stored bytes corrupted or wrong key)");
  }
  return Status::OK();
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  CipherCtx() {
    if (!ctx) Fatal("cipher context");
  }
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

}  // namespace

void RandomBytes(MutableByteView out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) Fatal("RAND_bytes");
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
  if (EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, Algos().sha256, nullptr) != 1) {
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
  if (EVP_DigestFinal_ex(impl_->ctx, id.bytes.data(), &len) != 1 ||
      EVP_DigestInit_ex2(impl_->ctx, Algos().sha256, nullptr) != 1) {
    Fatal("SHA-256 final");
  }
  return id;
}

namespace {

// An HMAC-SHA256 context with the key set; callers dup it per message.
struct HmacTemplate {
  EVP_MAC_CTX* ctx = nullptr;
  explicit HmacTemplate(const Key32& key) {
    ctx = EVP_MAC_CTX_new(const_cast<EVP_MAC*>(Algos().hmac));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) Fatal("HMAC init");
  }
  ~HmacTemplate() { EVP_MAC_CTX_free(ctx); }
  Id Mac(ByteView data) const {
    // EVP_MAC_CTX_dup only reads the template, so concurrent calls are safe.
    EVP_MAC_CTX* c = EVP_MAC_CTX_dup(ctx);
    if (!c) Fatal("HMAC dup");
    Id id;
    size_t len = 0;
    if (EVP_MAC_update(c, data.data(), data.size()) != 1 ||
        EVP_MAC_final(c, id.bytes.data(), &len, id.bytes.size()) != 1) {
      Fatal("HMAC");
    }
    EVP_MAC_CTX_free(c);
    return id;
  }
};

}  // namespace

Id HmacSha256(const Key32& key, ByteView data) { return HmacTemplate(key).Mac(data); }

Result<Key32> Scrypt(std::string_view password, ByteView salt, const ScryptParams& p) {
  if (p.n < 2 || (p.n & (p.n - 1)) != 0 || p.r == 0 || p.p == 0) {
    return Err(Status::InvalidArgument("scrypt: N must be a power of two > 1, r and p positive"));
  }
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (!kdf) Fatal("scrypt fetch");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) Fatal("scrypt context");
  uint64_t n = p.n;
  uint32_t r = p.r, par = p.p;
  uint64_t maxmem = uint64_t{128} * r * n * 2 + (uint64_t{64} << 20);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<char*>(password.data()), password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  Key32 out;
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) {
    return Err(Status::InvalidArgument("scrypt rejected N=" + std::to_string(p.n) + " r=" +
                                       std::to_string(p.r) + " p=" + std::to_string(p.p)));
  }
  return out;
}

struct Crypto::Impl {
  explicit Impl(const Key32& mac) : hmac(mac) {}
  HmacTemplate hmac;
};

Crypto::Crypto(const MasterKeys& keys) : keys_(keys), impl_(std::make_unique<Impl>(keys.mac)) {}
Crypto::~Crypto() { OPENSSL_cleanse(&keys_, sizeof(keys_)); }

Id Crypto::BlobId(ByteView plaintext) const { return impl_->hmac.Mac(plaintext); }

void Crypto::Seal(ByteView plaintext, ByteView aad, Bytes& out) const {
  CipherCtx c;
  GcmSeal(c.ctx, keys_.encryption.data(), plaintext, aad, out);
}

Status Crypto::Open(ByteView sealed, ByteView aad, Bytes& out) const {
  CipherCtx c;
  return GcmOpen(c.ctx, keys_.encryption.data(), sealed, aad, out);
}

void SealWithKey(const Key32& key, ByteView plaintext, ByteView aad, Bytes& out) {
  CipherCtx c;
  GcmSeal(c.ctx, key.data(), plaintext, aad, out);
}

Status OpenWithKey(const Key32& key, ByteView sealed, ByteView aad, Bytes& out) {
  CipherCtx c;
  return GcmOpen(c.ctx, key.data(), sealed, aad, out);
}

}  // namespace cairn
