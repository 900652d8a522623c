// Known request -> known signature, from AWS's documentation: the S3
// header-based authentication examples ("GET /test.txt" with
// AKIAIOSFODNN7EXAMPLE, the PUT, lifecycle and list examples) and the
// SigV4 test suite's get-vanilla cases (AKIDEXAMPLE, service "service").
#include "backend/sigv4.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

constexpr char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

AwsCredentials S3DocKey() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", 0};
}

SigV4Request S3DocGet(std::string path, std::vector<std::pair<std::string, std::string>> query) {
  SigV4Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-content-sha256", kEmptyHash},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = kEmptyHash;
  return r;
}

std::string SignatureOf(const std::string& auth) {
  return auth.substr(auth.find("Signature=") + 10);
}

TEST(SigV4Test, S3GetObjectExampleStepByStep) {
  SigV4Request r = S3DocGet("/test.txt", {});
  r.headers.push_back({"Range", "bytes=0-9"});
  std::string signed_headers;
  const std::string canon = CanonicalRequest(r, &signed_headers);
  EXPECT_EQ(canon,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
  const std::string scope = CredentialScope("20130524T000000Z", "us-east-1", "s3");
  EXPECT_EQ(scope, "20130524/us-east-1/s3/aws4_request");
  EXPECT_EQ(StringToSign("20130524T000000Z", scope, canon),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(AuthorizationHeader(r, S3DocKey(), "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3PutObjectExample) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = Sha256Hex(AsBytes(body));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r;
  r.method = "PUT";
  r.path = "/" + UriEncode("test$file.text", false);
  EXPECT_EQ(r.path, "/test%24file.text");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  r.payload_hash = hash;
  EXPECT_EQ(SignatureOf(AuthorizationHeader(r, S3DocKey(), "us-east-1", "s3", "20130524T000000Z")),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3GetBucketLifecycleExample) {
  SigV4Request r = S3DocGet("/", {{"lifecycle", ""}});
  EXPECT_EQ(SignatureOf(AuthorizationHeader(r, S3DocKey(), "us-east-1", "s3", "20130524T000000Z")),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, S3ListObjectsExampleSortsTheQuery) {
  SigV4Request r = S3DocGet("/", {{"prefix", "J"}, {"max-keys", "2"}});
  EXPECT_EQ(SignatureOf(AuthorizationHeader(r, S3DocKey(), "us-east-1", "s3", "20130524T000000Z")),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

SigV4Request Vanilla(std::vector<std::pair<std::string, std::string>> query) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = kEmptyHash;
  return r;
}

const AwsCredentials kSuiteKey{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", 0};

TEST(SigV4Test, TestSuiteGetVanilla) {
  EXPECT_EQ(AuthorizationHeader(Vanilla({}), kSuiteKey, "us-east-1", "service", "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
            "SignedHeaders=host;x-amz-date,"
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, TestSuiteGetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(SignatureOf(AuthorizationHeader(Vanilla({{"Param2", "value2"}, {"Param1", "value1"}}),
                                            kSuiteKey, "us-east-1", "service", "20150830T123600Z")),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndNamesLowercased) {
  SigV4Request r = Vanilla({});
  r.headers.push_back({"My-Header1", "  value1   a  b "});
  std::string names;
  const std::string canon = CanonicalRequest(r, &names);
  EXPECT_EQ(names, "host;my-header1;x-amz-date");
  EXPECT_NE(canon.find("\nmy-header1:value1 a b\n"), std::string::npos) << canon;
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(UriEncode("a b/c~d_e-f.g", false), "a%20b/c~d_e-f.g");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("\xc3\xa9+=", true), "%C3%A9%2B%3D");
  EXPECT_EQ(CanonicalQueryString({{"uploadId", "a/b+c"}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Fb%2Bc");
}

TEST(SigV4Test, ContentMd5AndDate) {
  EXPECT_EQ(ContentMd5(AsBytes("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(ContentMd5(AsBytes("Welcome to Amazon S3.")).size(), 24u);
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
}

}  // namespace
}  // namespace cairn
