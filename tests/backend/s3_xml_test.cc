#include "backend/s3_xml.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(S3XmlTest, ListObjectsV2Page) {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a&amp;b</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>"x"</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/c</Key><Size>0</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page) << page.error().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[1].key, "p/c");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, ListLastPageAndEmptyListing) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>");
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(S3XmlTest, MalformedListingsAreTransient) {
  for (const char* bad : {"", "<html>proxy error</html>", "<ListBucketResult><Contents><Key>a",
                          "<ListBucketResult><Contents><Key>a</Key><Size>x</Size></Contents>"
                          "</ListBucketResult>",
                          "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"}) {
    auto page = ParseListObjectsV2(bad);
    ASSERT_FALSE(page) << bad;
    EXPECT_EQ(page.error().code(), ErrorCode::kTransient) << bad;
  }
}

TEST(S3XmlTest, ErrorBodies) {
  auto e = ParseErrorBody(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>
<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The resource you requested does not exist");
  EXPECT_EQ(e->request_id, "4442587FB7D0A2F9");
  // radosgw: empty Message, extra fields.
  auto r = ParseErrorBody(
      "<Error><Code>BadDigest</Code><Message></Message><BucketName>b</BucketName>"
      "<RequestId>tx0000-1</RequestId><HostId>h</HostId></Error>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, "BadDigest");
  EXPECT_EQ(r->message, "");
  auto redirect = ParseErrorBody(
      "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->region, "eu-west-1");
  EXPECT_FALSE(ParseErrorBody(""));
  EXPECT_FALSE(ParseErrorBody("<ListBucketResult/>"));
  EXPECT_FALSE(ParseErrorBody("not xml"));
}

TEST(S3XmlTest, MultipartReplies) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "VXBsb2FkIElE");
  EXPECT_FALSE(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>"));
  auto etag = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
      "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(etag);
  EXPECT_EQ(*etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  auto empty = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
}

TEST(S3XmlTest, CompleteBodyRoundTripsThroughPugixml) {
  const std::string xml = CompleteMultipartUploadXml({"\"a\"", "\"b&c\""});
  EXPECT_NE(xml.find("<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<PartNumber>2</PartNumber>"), std::string::npos);
  EXPECT_NE(xml.find("&amp;"), std::string::npos);
}

TEST(S3XmlTest, DeleteBodyAndResult) {
  const std::string xml = DeleteObjectsXml({"p/a", "p/<b>"}, true);
  EXPECT_NE(xml.find("<Quiet>true</Quiet>"), std::string::npos);
  EXPECT_NE(xml.find("<Object><Key>p/a</Key></Object>"), std::string::npos);
  EXPECT_NE(xml.find("p/&lt;b&gt;"), std::string::npos);
  auto r = ParseDeleteResult(
      "<DeleteResult><Deleted><Key>p/a</Key></Deleted><Error><Key>p/b</Key>"
      "<Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted, std::vector<std::string>{"p/a"});
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].key, "p/b");
  EXPECT_EQ(r->errors[0].code, "AccessDenied");
}

TEST(S3XmlTest, RetentionBothWays) {
  const int64_t t = int64_t{1798761600} * 1000000000;  // 2027-01-01T00:00:00Z
  EXPECT_EQ(FormatIso8601(t), "2027-01-01T00:00:00Z");
  const std::string xml = RetentionXml(LockMode::kCompliance, t);
  EXPECT_NE(xml.find("<Mode>COMPLIANCE</Mode>"), std::string::npos);
  EXPECT_NE(xml.find("<RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate>"), std::string::npos);
  auto r = ParseRetention(xml);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mode, LockMode::kCompliance);
  EXPECT_EQ(r->retain_until_ns, t);
  // radosgw answers with nine fractional digits.
  auto rgw = ParseRetention(
      "<Retention><Mode>GOVERNANCE</Mode>"
      "<RetainUntilDate>2027-01-01T00:00:00.123456789Z</RetainUntilDate></Retention>");
  ASSERT_TRUE(rgw);
  EXPECT_EQ(rgw->mode, LockMode::kGovernance);
  EXPECT_EQ(rgw->retain_until_ns, t + 123456789);
}

TEST(S3XmlTest, Iso8601Leniency) {
  const int64_t t = int64_t{1798761600} * 1000000000;
  EXPECT_EQ(ParseIso8601("2027-01-01T00:00:00Z"), t);
  EXPECT_EQ(ParseIso8601("2027-01-01T00:00:00.5Z"), t + 500000000);
  EXPECT_EQ(ParseIso8601("2027-01-01T01:00:00+01:00"), t);
  EXPECT_EQ(ParseIso8601("2026-12-31T23:00:00-01:00"), t);
  EXPECT_FALSE(ParseIso8601("2027-01-01"));
  EXPECT_FALSE(ParseIso8601("2027-01-01T00:00:00"));
  EXPECT_FALSE(ParseIso8601("2027-01-01T00:00:00.Z"));
  EXPECT_FALSE(ParseIso8601("2027-01-01T00:00:00X"));
  EXPECT_FALSE(ParseIso8601("9999-12-31T23:59:59Z"));  // past int64 nanoseconds
  EXPECT_TRUE(ParseIso8601("2200-01-01T00:00:00Z"));
}

TEST(S3XmlTest, RestoreAndCreateBucketBodies) {
  const std::string r = RestoreRequestXml(7, "Bulk");
  EXPECT_NE(r.find("<Days>7</Days>"), std::string::npos);
  EXPECT_NE(r.find("<GlacierJobParameters><Tier>Bulk</Tier></GlacierJobParameters>"),
            std::string::npos);
  EXPECT_EQ(CreateBucketXml("us-east-1"), "");
  EXPECT_NE(CreateBucketXml("eu-west-1").find("<LocationConstraint>eu-west-1</LocationConstraint>"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(S3XmlTest, ObjectLockConfigurationInBothDialects) {
  // radosgw on a bucket created with object lock and no default retention.
  auto bare = ParseObjectLockConfiguration(
      R"(<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>)");
  ASSERT_TRUE(bare) << bare.error().message();
  EXPECT_TRUE(bare->enabled);
  EXPECT_EQ(bare->default_mode, LockMode::kNone);
  auto days = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
      "<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
      "</ObjectLockConfiguration>");
  ASSERT_TRUE(days);
  EXPECT_EQ(days->default_mode, LockMode::kGovernance);
  EXPECT_EQ(days->default_retention_s, 86400);
  auto years = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
      "<DefaultRetention><Mode>COMPLIANCE</Mode><Years>2</Years></DefaultRetention></Rule>"
      "</ObjectLockConfiguration>");
  ASSERT_TRUE(years);
  EXPECT_EQ(years->default_mode, LockMode::kCompliance);
  EXPECT_EQ(years->default_retention_s, 2 * 365 * 86400);
  auto off = ParseObjectLockConfiguration("<ObjectLockConfiguration/>");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled);
  for (const char* bad : {"<Error/>", "<ObjectLockConfiguration><Rule><DefaultRetention><Mode>X"
                                      "</Mode><Days>1</Days></DefaultRetention></Rule>"
                                      "</ObjectLockConfiguration>",
                          "<ObjectLockConfiguration><Rule><DefaultRetention><Mode>GOVERNANCE"
                          "</Mode></DefaultRetention></Rule></ObjectLockConfiguration>"}) {
    auto r = ParseObjectLockConfiguration(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kTransient);
  }
}

TEST(S3XmlTest, VersioningStatusAndVersionListings) {
  EXPECT_EQ(*ParseVersioningStatus(
                R"(<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>)"),
            "Enabled");
  // A bucket whose versioning was never enabled has no Status.
  EXPECT_EQ(*ParseVersioningStatus("<VersioningConfiguration/>"), "");
  auto page = ParseListVersions(
      "<ListVersionsResult><IsTruncated>false</IsTruncated>"
      "<Version><Key>r/config</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"
      "<Size>3</Size></Version>"
      "<DeleteMarker><Key>r/config</Key><VersionId>dm</VersionId><IsLatest>true</IsLatest>"
      "</DeleteMarker>"
      "<Version><Key>r/config2</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>"
      "</Version></ListVersionsResult>");
  ASSERT_TRUE(page) << page.error().message();
  ASSERT_EQ(page->versions.size(), 3u);
  EXPECT_EQ(page->versions[0].version_id, "v1");
  EXPECT_FALSE(page->versions[0].delete_marker);
  EXPECT_FALSE(page->versions[0].is_latest);
  EXPECT_TRUE(page->versions[1].delete_marker);
  EXPECT_TRUE(page->versions[1].is_latest);
  EXPECT_EQ(page->versions[2].key, "r/config2");
  EXPECT_FALSE(page->truncated);
  EXPECT_FALSE(ParseListVersions("<ListVersionsResult><Version><VersionId>v</VersionId>"
                                 "</Version></ListVersionsResult>"));
}

}  // namespace
}  // namespace cairn
