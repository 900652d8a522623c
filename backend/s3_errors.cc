#include "backend/s3_errors.h"

#include "backend/s3_xml.h"

namespace cairn {

namespace {

std::string Hint(const std::string& code, long status, const S3ErrorContext& ctx,
                 const std::string& bucket_region) {
  if (!bucket_region.empty() && bucket_region != ctx.region) {
    return "the bucket is in region " + bucket_region + ", not " + std::string(ctx.region) +
           "; pass --region " + bucket_region + " (or set AWS_REGION)";
  }
  if (code == "SignatureDoesNotMatch") {
    return "the secret key does not match the access key id; check AWS_SECRET_ACCESS_KEY or "
           "aws_secret_access_key in the profile";
  }
  if (code == "InvalidAccessKeyId") {
    return "the store does not know this access key id; check AWS_ACCESS_KEY_ID or the profile "
           "(and --endpoint: keys of one service do not work on another)";
  }
  if (code == "RequestTimeTooSkewed") {
    return "this machine's clock is off by more than 15 minutes; fix it (e.g. enable NTP)";
  }
  if (code == "ExpiredToken" || code == "TokenRefreshRequired") {
    return "the session token has expired; get fresh credentials";
  }
  if (code == "NoSuchBucket") {
    return "the bucket does not exist; `cairn init` creates it, or check the name and --endpoint";
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || status == 301) {
    return "the bucket is in another region than " + std::string(ctx.region) +
           "; pass the right --region";
  }
  if (code == "AccessDenied" || status == 403) {
    return "the credentials are valid but may not do this; check the IAM policy (doc/s3.md)";
  }
  if (code == "SlowDown" || status == 503) return "the store is throttling; retrying";
  if (code == "BadDigest") return "the data changed in transit (Content-MD5 mismatch)";
  return "";
}

}  // namespace

std::string S3ErrorCode(const HttpResponse& resp) {
  auto e = ParseErrorBody(AsChars(resp.body));
  return e ? e->code : std::string();
}

Status S3StatusFromResponse(const S3ErrorContext& ctx, const HttpResponse& resp) {
  const std::string where = std::string(ctx.target) + ": " + std::string(ctx.op);
  if (resp.curl_code != 0) {
    const std::string msg = where + ": " + resp.curl_error;
    if (HttpClient::IsTransientCurlCode(resp.curl_code)) return Status::Transient(msg);
    return Status::IOError(msg + " (check --endpoint and, for https, the server's certificate)");
  }
  const long st = resp.status;
  const auto body = ParseErrorBody(AsChars(resp.body));
  std::string code = body ? body->code : "";
  std::string bucket_region = resp.Header("x-amz-bucket-region");
  if (bucket_region.empty() && body) bucket_region = body->region;
  std::string msg = where + ": HTTP " + std::to_string(st);
  if (!code.empty()) msg += " " + code;
  if (body && !body->message.empty()) msg += ": " + body->message;
  std::string rid = body && !body->request_id.empty() ? body->request_id
                                                      : resp.Header("x-amz-request-id");
  if (!rid.empty()) msg += " (request id " + rid + ")";
  if (const std::string h = Hint(code, st, ctx, bucket_region); !h.empty()) msg += "; " + h;

  if (st >= 500 || code == "SlowDown" || code == "RequestTimeout" || code == "BadDigest" ||
      code == "ConditionalRequestConflict" || code == "InternalError" ||
      code == "OperationAborted" || st == 429) {
    if (st == 501 || code == "NotImplemented") return Status::Unsupported(msg);
    return Status::Transient(msg);
  }
  if (st == 404 || code == "NoSuchKey" || code == "NoSuchBucket") return Status::NotFound(msg);
  if (st == 403 || code == "ExpiredToken" || code == "InvalidToken" ||
      code == "TokenRefreshRequired" || code == "InvalidAccessKeyId" ||
      code == "SignatureDoesNotMatch") {
    return Status::PermissionDenied(msg);
  }
  if (st == 412 || code == "PreconditionFailed") return Status::AlreadyExists(msg);
  if (st == 416 || code == "InvalidRange") return Status::OutOfRange(msg);
  return Status::InvalidArgument(msg);
}

}  // namespace cairn
