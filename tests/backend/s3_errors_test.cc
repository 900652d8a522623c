// Canned HTTP replies -> Status: the mapping S3Store applies to every reply.
#include "backend/s3_errors.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace cairn {
namespace {

HttpResponse Reply(long status, const std::string& code, const std::string& message = "",
                   const std::string& rid = "RID123") {
  HttpResponse r;
  r.status = status;
  if (!code.empty()) {
    r.body = ToBytes("<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
                     "</Message><RequestId>" + rid + "</RequestId></Error>");
  }
  return r;
}

Status Map(const HttpResponse& r) {
  return S3StatusFromResponse({"GET", "s3://bkt/p/config", "us-east-1"}, r);
}

TEST(S3ErrorsTest, NotFound) {
  EXPECT_EQ(Map(Reply(404, "NoSuchKey")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Map(Reply(404, "")).code(), ErrorCode::kNotFound);  // HEAD: no body
  Status nb = Map(Reply(404, "NoSuchBucket"));
  EXPECT_EQ(nb.code(), ErrorCode::kNotFound);
  EXPECT_NE(nb.message().find("cairn init"), std::string::npos) << nb.message();
}

TEST(S3ErrorsTest, PermissionDeniedCarriesCodeMessageRequestIdAndHint) {
  Status s = Map(Reply(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"));
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  for (const char* want : {"s3://bkt/p/config", "GET", "HTTP 403", "SignatureDoesNotMatch",
                           "The request signature", "request id RID123", "secret key"}) {
    EXPECT_NE(s.message().find(want), std::string::npos) << want << " in " << s.message();
  }
  Status key = Map(Reply(403, "InvalidAccessKeyId"));
  EXPECT_EQ(key.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(key.message().find("access key id"), std::string::npos);
  Status skew = Map(Reply(403, "RequestTimeTooSkewed"));
  EXPECT_NE(skew.message().find("clock"), std::string::npos);
  Status denied = Map(Reply(403, "AccessDenied"));
  EXPECT_EQ(denied.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("IAM policy"), std::string::npos);
  EXPECT_EQ(Map(Reply(400, "ExpiredToken")).code(), ErrorCode::kPermissionDenied);
}

TEST(S3ErrorsTest, WrongRegionNamesTheBucketsRegion) {
  HttpResponse r = Reply(301, "PermanentRedirect");
  r.headers["x-amz-bucket-region"] = "eu-central-1";
  Status s = Map(r);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--region eu-central-1"), std::string::npos) << s.message();
  HttpResponse head;  // HEAD: no body, only the header
  head.status = 301;
  head.headers["x-amz-bucket-region"] = "ap-east-1";
  EXPECT_NE(Map(head).message().find("region ap-east-1"), std::string::npos);
  HttpResponse malformed = Reply(400, "AuthorizationHeaderMalformed");
  malformed.body = ToBytes(
      "<Error><Code>AuthorizationHeaderMalformed</Code><Region>us-west-2</Region></Error>");
  EXPECT_NE(Map(malformed).message().find("--region us-west-2"), std::string::npos);
}

TEST(S3ErrorsTest, TransientReplies) {
  for (auto r : {Reply(500, "InternalError"), Reply(503, "SlowDown"), Reply(503, ""),
                 Reply(400, "RequestTimeout"), Reply(400, "BadDigest"), Reply(429, ""),
                 Reply(409, "ConditionalRequestConflict"), Reply(502, "")}) {
    EXPECT_EQ(Map(r).code(), ErrorCode::kTransient) << r.status << " " << ToString(r.body);
  }
  EXPECT_EQ(Map(Reply(501, "NotImplemented")).code(), ErrorCode::kUnsupported);
}

TEST(S3ErrorsTest, TransportFailures) {
  for (int code : {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
                   CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING}) {
    HttpResponse r;
    r.curl_code = code;
    r.curl_error = "boom";
    Status s = Map(r);
    EXPECT_EQ(s.code(), ErrorCode::kTransient) << code;
    EXPECT_NE(s.message().find("s3://bkt/p/config: GET: boom"), std::string::npos);
  }
  HttpResponse tls;
  tls.curl_code = CURLE_PEER_FAILED_VERIFICATION;
  tls.curl_error = "SSL certificate problem";
  EXPECT_EQ(Map(tls).code(), ErrorCode::kIOError);
}

TEST(S3ErrorsTest, OtherStatuses) {
  EXPECT_EQ(Map(Reply(412, "PreconditionFailed")).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Map(Reply(400, "InvalidArgument")).code(), ErrorCode::kInvalidArgument);
  // A range that starts past the end is the caller's read of a short object,
  // not bad input: the repository layer reports the pack as truncated.
  EXPECT_EQ(Map(Reply(416, "InvalidRange")).code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(Map(Reply(416, "")).code(), ErrorCode::kOutOfRange);
  // radosgw: empty Message; the request id header is used when the body has none.
  HttpResponse r = Reply(400, "InvalidRequest", "", "");
  r.headers["x-amz-request-id"] = "tx-hdr";
  EXPECT_NE(Map(r).message().find("request id tx-hdr"), std::string::npos);
  EXPECT_EQ(S3ErrorCode(Reply(404, "NoSuchKey")), "NoSuchKey");
  EXPECT_EQ(S3ErrorCode(Reply(404, "")), "");
}

}  // namespace
}  // namespace cairn
