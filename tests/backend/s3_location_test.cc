#include "backend/s3_location.h"

#include <gtest/gtest.h>

#include <map>

namespace cairn {
namespace {

GetEnvFn Env(std::map<std::string, std::string> m) {
  m.emplace("HOME", "/nonexistent-home");
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(S3LocationTest, AwsVirtualHosted) {
  auto l = ParseS3Location("s3://my-backups/laptop/", "", "", Env({{"AWS_REGION", "eu-west-1"}}));
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->bucket, "my-backups");
  EXPECT_EQ(l->prefix, "laptop");
  EXPECT_EQ(l->region, "eu-west-1");
  EXPECT_EQ(l->scheme, "https");
  EXPECT_EQ(l->host, "my-backups.s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(l->path_style);
  EXPECT_EQ(l->FullKey("packs/ab/x"), "laptop/packs/ab/x");
  EXPECT_EQ(l->Path("laptop/a b"), "/laptop/a%20b");
  EXPECT_EQ(l->Path(""), "/");
  EXPECT_EQ(l->Describe(), "s3://my-backups/laptop");
  EXPECT_EQ(l->Url("/x", {{"uploads", ""}}), "https://my-backups.s3.eu-west-1.amazonaws.com/x?uploads=");
}

TEST(S3LocationTest, DottedBucketIsPathStyleOnAws) {
  auto l = ParseS3Location("s3://backups.example.com", "", "", Env({}));
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->path_style);
  EXPECT_EQ(l->region, "us-east-1");
  EXPECT_EQ(l->host, "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(l->prefix, "");
  EXPECT_EQ(l->Path("config"), "/backups.example.com/config");
  EXPECT_EQ(l->Path(""), "/backups.example.com");
}

TEST(S3LocationTest, EndpointPrecedence) {
  auto env = Env({{"AWS_ENDPOINT_URL", "http://env:1"}, {"AWS_REGION", "env-region"}});
  auto flag = ParseS3Location("s3://b-1/p?endpoint=http://query:2&region=q-region",
                              "https://flag:3/", "flag-region", env);
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->host, "flag:3");
  EXPECT_EQ(flag->scheme, "https");
  EXPECT_EQ(flag->region, "flag-region");
  auto query = ParseS3Location("s3://b-1/p?endpoint=http%3A%2F%2Fquery%3A2&region=q-region", "",
                               "", env);
  ASSERT_TRUE(query) << query.error().message();
  EXPECT_EQ(query->host, "query:2");
  EXPECT_EQ(query->region, "q-region");
  auto from_env = ParseS3Location("s3://b-1/p", "", "", env);
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->host, "env:1");
  EXPECT_EQ(from_env->scheme, "http");
  EXPECT_EQ(from_env->region, "env-region");
  EXPECT_TRUE(from_env->path_style);
  EXPECT_EQ(from_env->Path("p/config"), "/b-1/p/config");
  EXPECT_EQ(from_env->Url(from_env->Path(""), {{"list-type", "2"}}), "http://env:1/b-1?list-type=2");
}

TEST(S3LocationTest, DefaultPortsAndEndpointPaths) {
  auto l = ParseS3Location("s3://bkt", "http://Host:80/s3/", "", Env({}));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->host, "host");
  EXPECT_EQ(l->base_path, "/s3");
  EXPECT_EQ(l->Path("k"), "/s3/bkt/k");
}

TEST(S3LocationTest, RegionFromDefaultRegionAndProfile) {
  auto l = ParseS3Location("s3://bkt", "", "", Env({{"AWS_DEFAULT_REGION", "ap-south-1"}}));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->region, "ap-south-1");
}

TEST(S3LocationTest, BadLocations) {
  for (const char* bad : {"s3://", "s3://UPPER/p", "s3://ab", "s3://-bad", "s3://a..b",
                          "s3://bkt//p", "s3://bkt/p?foo=1", "s3://bkt?endpoint=%zz"}) {
    auto l = ParseS3Location(bad, "", "", Env({}));
    ASSERT_FALSE(l) << bad;
    EXPECT_EQ(l.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  auto no_scheme = ParseS3Location("s3://bkt", "localhost:9000", "", Env({}));
  ASSERT_FALSE(no_scheme);
  EXPECT_NE(no_scheme.error().message().find("needs a scheme"), std::string::npos);
  for (const char* ep : {"http://", "http://host:", "https://:9000", "ftp://host"}) {
    auto l = ParseS3Location("s3://bkt", ep, "", Env({}));
    ASSERT_FALSE(l) << ep;
    EXPECT_EQ(l.error().code(), ErrorCode::kInvalidArgument) << ep;
  }
}

}  // namespace
}  // namespace cairn
