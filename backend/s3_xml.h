// The XML S3 speaks, read and written with pugixml (never string search).
// Parsers take whole response bodies. A body that is not the expected
// document is Transient: a proxy or a cut connection produced it, and
// asking again may help.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/object_store.h"
#include "common/status.h"

namespace cairn {

// One page of ListObjectsV2. Keys are the full S3 keys.
struct S3ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};
Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// <Error><Code>NoSuchKey</Code><Message>...</Message><RequestId>...</RequestId>
// (<Region> on some redirects). nullopt when the body is not an Error document.
struct S3ErrorBody {
  std::string code;
  std::string message;  // radosgw leaves it empty
  std::string request_id;
  std::string region;   // AWS's <Region> on PermanentRedirect / AuthorizationHeaderMalformed
  std::string endpoint;
};
std::optional<S3ErrorBody> ParseErrorBody(std::string_view xml);

// InitiateMultipartUploadResult -> UploadId.
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);
// CompleteMultipartUploadResult -> ETag (radosgw sends it empty). An <Error>
// body (S3 may send one with status 200) is returned by ParseErrorBody.
Result<std::string> ParseCompleteMultipartUpload(std::string_view xml);

// DeleteResult: keys deleted and per-key errors.
struct S3DeleteResult {
  std::vector<std::string> deleted;
  struct Failure {
    std::string key, code, message;
  };
  std::vector<Failure> errors;
};
Result<S3DeleteResult> ParseDeleteResult(std::string_view xml);

// GetObjectRetention's <Retention><Mode/><RetainUntilDate/></Retention>.
struct S3Retention {
  LockMode mode = LockMode::kNone;
  int64_t retain_until_ns = 0;
};
Result<S3Retention> ParseRetention(std::string_view xml);

// GetObjectLockConfiguration's <ObjectLockConfiguration>: enabled, and the
// bucket's default retention (Days or Years) when it has one.
Result<ObjectLockConfig> ParseObjectLockConfiguration(std::string_view xml);

// GetBucketVersioning's <VersioningConfiguration>: "Enabled", "Suspended",
// or "" (never enabled).
Result<std::string> ParseVersioningStatus(std::string_view xml);

// One page of ListObjectVersions: object versions and delete markers.
struct S3Version {
  std::string key;  // full S3 key
  std::string version_id;
  bool is_latest = false;
  bool delete_marker = false;
};
struct S3VersionsPage {
  std::vector<S3Version> versions;  // in the server's order
  bool truncated = false;
};
Result<S3VersionsPage> ParseListVersions(std::string_view xml);

// Bodies cairn sends. Parts are numbered 1..etags.size().
std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags);
std::string DeleteObjectsXml(const std::vector<std::string>& keys, bool quiet);
// The date is rounded up to the second (FormatRetainUntil).
std::string RetentionXml(LockMode mode, int64_t retain_until_ns);
// tier: "Standard", "Bulk" or "Expedited".
std::string RestoreRequestXml(int days, std::string_view tier);
// Empty for us-east-1 (AWS refuses an explicit us-east-1 constraint).
std::string CreateBucketXml(std::string_view region);

// "2027-01-01T00:00:00Z" (whole seconds, UTC: radosgw refuses "+00:00").
std::string FormatIso8601(int64_t unix_ns);
// ns rounded up to a whole second: a retain-until is never earlier than
// the one asked for.
int64_t RoundUpToSecond(int64_t unix_ns);
// "2027-01-01T00:00:00Z": UTC, whole seconds rounded UP, no fraction: the
// one form cairn sends lock dates in (radosgw refuses "+00:00" and RFC 1123
// dates with 400 InvalidArgument).
std::string FormatRetainUntil(int64_t unix_ns);
// Accepts fractional seconds of any length and "Z" or "+00:00"/"-hh:mm".
std::optional<int64_t> ParseIso8601(std::string_view s);

std::string_view LockModeName(LockMode mode);  // "GOVERNANCE", "COMPLIANCE", ""

}  // namespace cairn
