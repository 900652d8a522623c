#include "backend/s3_location.h"

#include <cctype>
#include <optional>

#include "backend/sigv4.h"

namespace cairn {

namespace {

Status Bad(std::string_view url, const std::string& why) {
  return Status::InvalidArgument("repository " + std::string(url) + ": " + why +
                                 "; the form is s3://bucket/prefix, e.g. s3://my-backups/laptop");
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// %XX decoding of a query value; nullopt on a bad escape.
std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '%') {
      return std::nullopt;
    } else {
      out += s[i];
    }
  }
  return out;
}

// S3 bucket naming rules (3-63 chars of a-z 0-9 . -, starting and ending
// with a letter or digit).
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != '.' && c != '-') {
      return false;
    }
  }
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  return alnum(b.front()) && alnum(b.back()) && b.find("..") == std::string_view::npos;
}

}  // namespace

std::string S3Location::KeyPrefix() const { return prefix.empty() ? "" : prefix + "/"; }

std::string S3Location::FullKey(std::string_view key) const { return KeyPrefix() + std::string(key); }

std::string S3Location::Path(std::string_view s3_key) const {
  std::string p = base_path;
  if (path_style) p += "/" + bucket;
  if (!s3_key.empty() || !path_style) p += "/" + UriEncode(s3_key, false);
  return p.empty() ? "/" : p;
}

std::string S3Location::Url(const std::string& path,
                            const std::vector<std::pair<std::string, std::string>>& query) const {
  std::string u = scheme + "://" + host + path;
  if (!query.empty()) u += "?" + CanonicalQueryString(query);
  return u;
}

std::string S3Location::Describe() const {
  return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

Result<S3Location> ParseS3Location(std::string_view url, const std::string& endpoint_flag,
                                   const std::string& region_flag, const GetEnvFn& env) {
  if (!(url.size() > 5 && Lower(std::string(url.substr(0, 5))) == "s3://")) {
    return Err(Bad(url, "not an s3:// location"));
  }
  std::string_view rest = url.substr(5);
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Location loc;
  const size_t slash = rest.find('/');
  loc.bucket = std::string(rest.substr(0, slash));
  if (!ValidBucket(loc.bucket)) {
    return Err(Bad(url, "\"" + loc.bucket + "\" is not a valid bucket name (3-63 characters: "
                        "lowercase letters, digits, '.' and '-')"));
  }
  if (slash != std::string_view::npos) {
    std::string_view p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    if (p.find("//") != std::string_view::npos || (!p.empty() && p.front() == '/')) {
      return Err(Bad(url, "the prefix has an empty path component"));
    }
    loc.prefix = std::string(p);
  }
  std::string q_endpoint, q_region;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = kv.find('=');
    const std::string k(kv.substr(0, eq));
    auto v = Unescape(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
    if (!v) return Err(Bad(url, "bad %-escape in the query"));
    if (k == "endpoint") {
      q_endpoint = *v;
    } else if (k == "region") {
      q_region = *v;
    } else {
      return Err(Bad(url, "unknown query parameter \"" + k + "\" (known: endpoint, region)"));
    }
  }
  auto env_or = [&](const char* name) { return env(name).value_or(""); };
  loc.region = !region_flag.empty()         ? region_flag
               : !q_region.empty()          ? q_region
               : !env_or("AWS_REGION").empty() ? env_or("AWS_REGION")
                                               : env_or("AWS_DEFAULT_REGION");
  if (loc.region.empty()) loc.region = LoadAwsProfile(env).region;
  if (loc.region.empty()) loc.region = "us-east-1";

  std::string endpoint = !endpoint_flag.empty()          ? endpoint_flag
                         : !q_endpoint.empty()           ? q_endpoint
                         : !env_or("AWS_ENDPOINT_URL_S3").empty() ? env_or("AWS_ENDPOINT_URL_S3")
                                                                  : env_or("AWS_ENDPOINT_URL");
  if (endpoint.empty()) {
    loc.scheme = "https";
    loc.path_style = loc.bucket.find('.') != std::string::npos;
    const std::string aws = "s3." + loc.region + ".amazonaws.com";
    loc.host = loc.path_style ? aws : loc.bucket + "." + aws;
    return loc;
  }
  loc.custom_endpoint = true;
  loc.path_style = true;
  const size_t sep = endpoint.find("://");
  if (sep == std::string::npos) {
    return Err(Status::InvalidArgument("S3 endpoint \"" + endpoint +
                                       "\" needs a scheme: http://host:port or https://host"));
  }
  loc.scheme = Lower(endpoint.substr(0, sep));
  if (loc.scheme != "http" && loc.scheme != "https") {
    return Err(Status::InvalidArgument("S3 endpoint \"" + endpoint + "\": use http:// or https://"));
  }
  std::string hostpath = endpoint.substr(sep + 3);
  const size_t ps = hostpath.find('/');
  loc.host = Lower(hostpath.substr(0, ps));
  if (ps != std::string::npos) {
    loc.base_path = hostpath.substr(ps);
    while (!loc.base_path.empty() && loc.base_path.back() == '/') loc.base_path.pop_back();
  }
  if (loc.host.empty() || loc.host.front() == ':' || loc.host.back() == ':') {
    return Err(Status::InvalidArgument("S3 endpoint \"" + endpoint +
                                       "\" needs a host and, after ':', a port"));
  }
  // curl leaves default ports out of Host; the signed host must match.
  const std::string default_port = loc.scheme == "http" ? ":80" : ":443";
  if (loc.host.ends_with(default_port)) loc.host.resize(loc.host.size() - default_port.size());
  return loc;
}

}  // namespace cairn
