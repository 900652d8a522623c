// The one place where HTTP and curl outcomes become Status (doc/architecture.md: HTTP
// -> Status only in S3Store). Pure: tests feed canned replies.
//
//   404 / NoSuchKey / NoSuchBucket          -> NotFound
//   403 (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId,
//        RequestTimeTooSkewed...), ExpiredToken -> PermissionDenied
//   5xx, SlowDown, RequestTimeout, BadDigest, ConditionalRequestConflict,
//   connection failures, resets, timeouts, truncated bodies -> Transient
//   412 PreconditionFailed                  -> AlreadyExists
//   416 InvalidRange (range past the end)   -> OutOfRange
//   301 / wrong-region errors, other 4xx    -> InvalidArgument
//   501 NotImplemented                      -> Unsupported
//
// Every message reads "s3://bucket/key: OP: HTTP 403 Code: message
// (request id ...); hint" and never contains a secret.
#pragma once

#include <string>
#include <string_view>

#include "backend/http_client.h"
#include "common/status.h"

namespace cairn {

struct S3ErrorContext {
  std::string_view op;      // "GET", "PUT", "ListObjectsV2", ...
  std::string_view target;  // "s3://bucket/prefix/key" or "s3://bucket"
  std::string_view region;  // the region cairn signed for
};

// Status for a reply that is not a success (curl failure or HTTP >= 300).
Status S3StatusFromResponse(const S3ErrorContext& ctx, const HttpResponse& resp);

// The S3 error code of a reply ("" when it carries no <Error> body).
std::string S3ErrorCode(const HttpResponse& resp);

}  // namespace cairn
