// Object lock on the wire without a server: the lock headers, the date
// form and its rounding, and the strict request checks of S3Store (which
// fail a request before it is sent, so a store pointing at a closed port
// tells a refused request from one that was tried).
#include "backend/s3_lock.h"

#include <gtest/gtest.h>

#include <string>

#include "backend/s3_store.h"
#include "backend/s3_xml.h"
#include "backend/sigv4.h"

namespace cairn {
namespace {

constexpr int64_t kS = 1000000000;
constexpr int64_t k2027 = int64_t{1798761600} * kS;  // 2027-01-01T00:00:00Z

TEST(S3LockTest, RetainUntilIsRoundedUpToTheSecond) {
  EXPECT_EQ(RoundUpToSecond(k2027), k2027);
  EXPECT_EQ(RoundUpToSecond(k2027 + 1), k2027 + kS);
  EXPECT_EQ(RoundUpToSecond(k2027 + kS - 1), k2027 + kS);
  EXPECT_EQ(FormatRetainUntil(k2027), "2027-01-01T00:00:00Z");
  EXPECT_EQ(FormatRetainUntil(k2027 + 1), "2027-01-01T00:00:01Z");
  EXPECT_EQ(FormatRetainUntil(k2027 - 1), "2027-01-01T00:00:00Z");
  EXPECT_EQ(FormatRetainUntil(k2027 - kS), "2026-12-31T23:59:59Z");
  // The PutObjectRetention body rounds the same way.
  auto r = ParseRetention(RetentionXml(LockMode::kGovernance, k2027 + 5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retain_until_ns, k2027 + kS);
}

TEST(S3LockTest, DatesAsServersSendThemParseAndOnlyOurFormIsSent) {
  // radosgw answers with 9 fraction digits, AWS with 3.
  EXPECT_EQ(ParseIso8601("2027-01-01T00:00:00.000000000Z"), k2027);
  EXPECT_EQ(ParseIso8601("2027-01-01T00:00:00.123Z"), k2027 + 123000000);
  EXPECT_EQ(ParseIso8601("2027-01-01T00:00:00.992012366Z"), k2027 + 992012366);
  EXPECT_TRUE(IsRetainUntilForm("2027-01-01T00:00:00Z"));
  EXPECT_FALSE(IsRetainUntilForm("2027-01-01T00:00:00.000Z"));
  EXPECT_FALSE(IsRetainUntilForm("2027-01-01T00:00:00+00:00"));
  EXPECT_FALSE(IsRetainUntilForm("Fri, 01 Jan 2027 00:00:00 GMT"));
  EXPECT_FALSE(IsRetainUntilForm("2027-13-01T00:00:0xZ"));
}

TEST(S3LockTest, LockHeadersForEachMode) {
  EXPECT_TRUE(ObjectLockHeaders(LockMode::kNone, k2027).empty());
  HttpHeaders g = ObjectLockHeaders(LockMode::kGovernance, k2027 + 1);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], (std::pair<std::string, std::string>{"x-amz-object-lock-mode", "GOVERNANCE"}));
  EXPECT_EQ(g[1], (std::pair<std::string, std::string>{"x-amz-object-lock-retain-until-date",
                                                       "2027-01-01T00:00:01Z"}));
  HttpHeaders c = ObjectLockHeaders(LockMode::kCompliance, k2027);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].second, "COMPLIANCE");
  for (const auto& h : c) EXPECT_EQ(h.first.find("bypass"), std::string::npos);
}

TEST(S3LockTest, StrictChecksRefuseWhatAwsRefuses) {
  const HttpHeaders md5{{"content-md5", "XUFAKrxLKna5cZ2REBfFkg=="}};
  for (const char* op : {"PUT", "UploadPart", "PutObjectRetention", "DeleteObjects"}) {
    EXPECT_TRUE(RequiresContentMd5(op)) << op;
    Status s = CheckStrictRequest(op, "s3://b/k", {});
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << op;
    EXPECT_NE(s.message().find("Content-MD5"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(op), std::string::npos) << s.message();
    EXPECT_TRUE(CheckStrictRequest(op, "s3://b/k", md5).ok()) << op;
    EXPECT_FALSE(CheckStrictRequest(op, "s3://b/k", {{"content-md5", ""}}).ok()) << op;
  }
  for (const char* op : {"GET", "HEAD", "ListObjectsV2", "CreateMultipartUpload",
                         "CompleteMultipartUpload", "GetObjectRetention", "DELETE"}) {
    EXPECT_FALSE(RequiresContentMd5(op)) << op;
    EXPECT_TRUE(CheckStrictRequest(op, "s3://b/k", {}).ok()) << op;
  }
  HttpHeaders bad_date = md5;
  bad_date.emplace_back("x-amz-object-lock-retain-until-date", "2027-01-01T00:00:00+00:00");
  EXPECT_FALSE(CheckStrictRequest("PUT", "s3://b/k", bad_date).ok());
  HttpHeaders bypass = md5;
  bypass.emplace_back("x-amz-bypass-governance-retention", "true");
  EXPECT_FALSE(CheckStrictRequest("DeleteObjects", "s3://b", bypass).ok());
}

// An S3Store on a closed port: a request that passes the strict checks is
// tried (Transient: connection refused); one that fails them is not.
struct ClosedPortStore {
  explicit ClosedPortStore(bool strict, bool strip_md5) {
    auto env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    auto loc = ParseS3Location("s3://bucket/prefix", "http://127.0.0.1:1", "us-east-1", env);
    EXPECT_TRUE(loc);
    AwsCredentials c{"AKIDEXAMPLE", "secret", "", 0};
    auto creds =
        std::make_unique<CredentialProvider>("test", [c] { return Result<AwsCredentials>(c); });
    S3StoreOptions o;
    o.strict = strict;
    o.timeouts.connect_ms = 1000;
    o.before_sign = [this, strip_md5](SigV4Request& r) {
      ++signed_requests;
      if (!strip_md5) return;
      std::erase_if(r.headers, [](const auto& h) { return h.first == "content-md5"; });
    };
    store = std::make_unique<S3Store>(*loc, std::move(creds), std::move(o));
  }
  int signed_requests = 0;
  std::unique_ptr<S3Store> store;
};

TEST(S3LockTest, StrictStoreRefusesEveryUploadWithoutContentMd5BeforeSending) {
  ClosedPortStore strict(/*strict=*/true, /*strip_md5=*/true);
  PutOptions lock;
  lock.lock_mode = LockMode::kCompliance;
  lock.retain_until_ns = k2027;
  Status put = strict.store->Put("packs/ab/ab12", AsBytes("data"), lock);
  EXPECT_EQ(put.code(), ErrorCode::kInvalidArgument) << put.message();
  EXPECT_NE(put.message().find("Content-MD5"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("s3://bucket/prefix/packs/ab/ab12"), std::string::npos);
  Status ret = strict.store->SetRetention("config", LockMode::kCompliance, k2027);
  EXPECT_EQ(ret.code(), ErrorCode::kInvalidArgument) << ret.message();
  EXPECT_NE(ret.message().find("PutObjectRetention"), std::string::npos) << ret.message();
  Status del = strict.store->DeleteMany({"index/a", "index/b"});
  EXPECT_EQ(del.code(), ErrorCode::kInvalidArgument) << del.message();
  EXPECT_NE(del.message().find("DeleteObjects"), std::string::npos) << del.message();

  // Without the strict checks the same requests are tried (and fail to connect).
  ClosedPortStore lenient(/*strict=*/false, /*strip_md5=*/true);
  EXPECT_EQ(lenient.store->Put("config", AsBytes("x"), lock).code(), ErrorCode::kTransient);
  // Strict, but nothing stripped: S3Store's own requests pass the checks.
  ClosedPortStore honest(/*strict=*/true, /*strip_md5=*/false);
  EXPECT_EQ(honest.store->Put("config", AsBytes("x"), lock).code(), ErrorCode::kTransient);
  EXPECT_EQ(honest.store->SetRetention("config", LockMode::kGovernance, k2027).code(),
            ErrorCode::kTransient);
  EXPECT_EQ(honest.store->DeleteMany({"a"}).code(), ErrorCode::kTransient);
}

}  // namespace
}  // namespace cairn
