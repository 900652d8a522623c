// Object lock on the wire: the headers a locked write carries, the one
// date form cairn sends, and the strict request checks the test suite runs
// S3Store under (doc/s3.md, "Object lock").
//
// Why strict checks: AWS refuses a PutObject or UploadPart with lock
// parameters (or into a bucket with a default retention), a
// PutObjectRetention and every DeleteObjects without Content-MD5 (400
// InvalidRequest), but radosgw, which the tests run against, accepts them.
// Without a check on cairn's side, a request that lost its Content-MD5
// would pass every test and fail only on AWS.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/object_store.h"
#include "backend/s3_xml.h"
#include "common/status.h"

namespace cairn {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// RoundUpToSecond and FormatRetainUntil, the one date form sent, are in
// backend/s3_xml.h (the PutObjectRetention body uses them too).

// Whether s has exactly the form FormatRetainUntil produces.
bool IsRetainUntilForm(std::string_view s);

// x-amz-object-lock-mode and x-amz-object-lock-retain-until-date for a
// write; nothing for LockMode::kNone. Never the bypass header: cairn
// writes only ever ask for a lock, never to get around one.
HttpHeaders ObjectLockHeaders(LockMode mode, int64_t retain_until_ns);

// Whether AWS requires Content-MD5 (or a checksum) on a request of this
// kind, given as S3Store names them: "PUT" (PutObject), "UploadPart",
// "PutObjectRetention", "DeleteObjects", "PutObjectLegalHold" and the
// bucket-configuration PUTs. cairn always sends Content-MD5 on them (never
// a checksum alone: Scality refuses that under a lock).
bool RequiresContentMd5(std::string_view op);

// The strict checks, on a request about to be signed (headers lower-case):
// InvalidArgument, naming op and target, when a request RequiresContentMd5
// has no Content-MD5, when it carries a lock date not in
// FormatRetainUntil's form, or when it carries
// x-amz-bypass-governance-retention.
Status CheckStrictRequest(std::string_view op, std::string_view target,
                          const HttpHeaders& headers);

}  // namespace cairn
