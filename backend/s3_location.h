// Where an s3:// repository lives: bucket, key prefix, endpoint, region and
// addressing style, resolved once from the repository URL, the command line
// and the environment.
//
//   s3://bucket/prefix[?endpoint=http://host:port&region=r]
//
// Endpoint: --endpoint, else the URL's ?endpoint=, else AWS_ENDPOINT_URL_S3,
// else AWS_ENDPOINT_URL, else AWS (https://s3.REGION.amazonaws.com).
// Region: --region, else ?region=, else AWS_REGION, else AWS_DEFAULT_REGION,
// else the profile's region (~/.aws/config), else us-east-1.
// Addressing: virtual-hosted (https://bucket.s3.REGION.amazonaws.com/key) on
// AWS; path-style (https://host/bucket/key) for custom endpoints and for
// bucket names with dots (whose virtual host would break TLS wildcards).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/s3_credentials.h"
#include "common/status.h"

namespace cairn {

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or "a/b": no leading or trailing '/'
  std::string scheme;  // "https" or "http"
  std::string host;    // host[:port] as sent in Host (default ports dropped)
  std::string base_path;  // endpoint path, e.g. "" or "/s3"
  bool path_style = false;
  bool custom_endpoint = false;
  std::string region;

  // The store key "packs/ab/x" as an S3 key: "prefix/packs/ab/x".
  std::string FullKey(std::string_view key) const;
  // The key prefix every object of this store has: "" or "prefix/".
  std::string KeyPrefix() const;
  // URI-encoded request path for an S3 key ("" for the bucket itself).
  std::string Path(std::string_view s3_key) const;
  // scheme://host + path + ?query (query encoded as SigV4 wants).
  std::string Url(const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& query) const;
  // "s3://bucket/prefix" (no query: endpoints and regions are not secret,
  // but they are noise in every message).
  std::string Describe() const;
};

// Resolves url ("s3://...") with the overrides (empty: not given).
// InvalidArgument with the fix for a malformed URL, bucket name or endpoint.
Result<S3Location> ParseS3Location(std::string_view url, const std::string& endpoint_flag,
                                   const std::string& region_flag, const GetEnvFn& env);

}  // namespace cairn
