// AWS Signature Version 4 for S3 requests (header-based authentication),
// written against OpenSSL. Pure functions: no clock, no I/O, so the AWS
// documentation's worked examples are unit tests (tests/backend/sigv4_test.cc).
//
// The caller builds a SigV4Request with every header it will send that must
// be signed (host, x-amz-date, x-amz-content-sha256, x-amz-security-token,
// Range, Content-MD5, x-amz-* ...) and asks for the Authorization header.
// Secrets never leave this file except as HMAC outputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace cairn {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  int64_t expires_unix = 0;   // 0: never expire (static keys)
};

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // already URI-encoded, e.g. "/bucket/packs/ab/ab12"
  // Query parameters, raw (not yet encoded); order does not matter. A
  // parameter without a value ("?uploads") has an empty value.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign; names in any case, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// Lowercase hex SHA-256 of data.
std::string Sha256Hex(ByteView data);
// Base64 of the MD5 of data, as Content-MD5 wants it.
std::string ContentMd5(ByteView data);
// Lowercase hex MD5: the ETag S3 gives an object stored by a single PUT.
std::string Md5Hex(ByteView data);
// Raw HMAC-SHA256.
Bytes HmacSha256(ByteView key, std::string_view data);

// AWS URI encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every
// other byte becomes %XY (uppercase hex); '/' stays when !encode_slash.
std::string UriEncode(std::string_view s, bool encode_slash);

// "a=1&b=2": names and values encoded, sorted by encoded name then value.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

// The canonical request (AWS step 1); *signed_headers receives
// "host;range;x-amz-date"-style list.
std::string CanonicalRequest(const SigV4Request& req, std::string* signed_headers);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// "20130524/us-east-1/s3/aws4_request" for amz_date "20130524T000000Z".
std::string CredentialScope(std::string_view amz_date, std::string_view region,
                            std::string_view service);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
Bytes SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service);

// The full Authorization header value: "AWS4-HMAC-SHA256 Credential=...,
// SignedHeaders=..., Signature=...". amz_date must equal the request's
// x-amz-date header ("YYYYMMDDTHHMMSSZ").
std::string AuthorizationHeader(const SigV4Request& req, const AwsCredentials& creds,
                                std::string_view region, std::string_view service,
                                std::string_view amz_date);

// "YYYYMMDDTHHMMSSZ" for a Unix time.
std::string AmzDate(int64_t unix_seconds);

}  // namespace cairn
