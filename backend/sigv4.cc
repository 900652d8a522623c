#include "backend/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/hex.h"

namespace cairn {

namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values are trimmed and inner runs of spaces collapse to one.
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string Sha256Hex(ByteView data) {
  uint8_t md[SHA256_DIGEST_LENGTH];
  SHA256(data.data(), data.size(), md);
  return ToHex(ByteView(md, sizeof(md)));
}

namespace {

void Md5(ByteView data, uint8_t (&md)[16]) {
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
}

}  // namespace

std::string Md5Hex(ByteView data) {
  uint8_t md[16];
  Md5(data, md);
  return ToHex(ByteView(md, sizeof(md)));
}

std::string ContentMd5(ByteView data) {
  uint8_t md[16];
  Md5(data, md);
  const unsigned int len = sizeof(md);
  unsigned char out[32];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

Bytes HmacSha256(ByteView key, std::string_view data) {
  Bytes out(32);
  unsigned int len = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const SigV4Request& req, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(req.headers.size());
  for (const auto& [k, v] : req.headers) h.emplace_back(LowerAscii(k), TrimValue(v));
  std::stable_sort(h.begin(), h.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canon_headers, names;
  for (size_t i = 0; i < h.size(); ++i) {
    // Repeated names join their values with commas, in the order given.
    if (i > 0 && h[i].first == h[i - 1].first) {
      canon_headers.back() = ',';
      canon_headers += h[i].second + "\n";
      continue;
    }
    canon_headers += h[i].first + ":" + h[i].second + "\n";
    if (!names.empty()) names += ';';
    names += h[i].first;
  }
  if (signed_headers) *signed_headers = names;
  return req.method + "\n" + (req.path.empty() ? "/" : req.path) + "\n" +
         CanonicalQueryString(req.query) + "\n" + canon_headers + "\n" + names + "\n" +
         req.payload_hash;
}

std::string CredentialScope(std::string_view amz_date, std::string_view region,
                            std::string_view service) {
  return std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/" +
         std::string(service) + "/aws4_request";
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         Sha256Hex(AsBytes(canonical_request));
}

Bytes SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service) {
  const std::string k = "AWS4" + std::string(secret);
  Bytes kdate = HmacSha256(AsBytes(k), date);
  Bytes kregion = HmacSha256(kdate, region);
  Bytes kservice = HmacSha256(kregion, service);
  return HmacSha256(kservice, "aws4_request");
}

std::string AuthorizationHeader(const SigV4Request& req, const AwsCredentials& creds,
                                std::string_view region, std::string_view service,
                                std::string_view amz_date) {
  std::string signed_headers;
  const std::string canon = CanonicalRequest(req, &signed_headers);
  const std::string scope = CredentialScope(amz_date, region, service);
  const std::string sts = StringToSign(amz_date, scope, canon);
  const Bytes key = SigningKey(creds.secret_access_key, amz_date.substr(0, 8), region, service);
  const std::string sig = ToHex(HmacSha256(key, sts));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ",SignedHeaders=" + signed_headers + ",Signature=" + sig;
}

std::string AmzDate(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace cairn
