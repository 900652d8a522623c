#include "backend/open_store.h"

#include <cctype>
#include <filesystem>
#include <optional>
#include <system_error>

#include "backend/local_dir_store.h"
#include "backend/read_only_store.h"
#include "backend/rate_limited_store.h"
#include "backend/retrying_store.h"
#include "backend/s3_store.h"

namespace cairn {

namespace {

constexpr std::string_view kSupportedForms =
    "use a directory path, file:///absolute/path or s3://bucket/prefix";

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool IsScheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Decodes %XX escapes of a file URI path; nullopt on a malformed escape or
// an escaped NUL.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return std::nullopt;
    }
    char c = static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    if (c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

// restic's repository forms ("sftp:host:/p", "rest:http://h/", "b2:bucket:p",
// "s3:host/bucket", ...): a first word before ':' that names one of
// restic's backends, with no '/' before it. Without this check such a
// location is a relative path, and `init` made a local directory
// "sftp:host:". A directory really named so is reached as ./sftp:host:.
std::optional<std::string> ResticStyleBackend(std::string_view location) {
  const size_t colon = location.find(':');
  if (colon == std::string_view::npos || location.substr(0, colon).find('/') != std::string::npos) {
    return std::nullopt;
  }
  const std::string_view word = location.substr(0, colon);
  for (std::string_view b : {"sftp", "rest", "b2", "azure", "gs", "swift", "rclone", "s3"}) {
    if (word == b) return std::string(word);
  }
  return std::nullopt;
}

// The directory a location names, or InvalidArgument.
Result<std::string> LocalPath(const std::string& location) {
  if (location.empty()) {
    return Err(
        Status::InvalidArgument("empty repository location; " + std::string(kSupportedForms)));
  }
  const size_t sep = location.find("://");
  if (sep != std::string::npos && IsScheme(std::string_view(location).substr(0, sep))) {
    std::string scheme = location.substr(0, sep);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "file") {
      return Err(Status::InvalidArgument("repository " + location + ": unknown scheme \"" + scheme +
                                         "://\"; " + std::string(kSupportedForms)));
    }
    std::string_view rest = std::string_view(location).substr(sep + 3);
    if (rest.starts_with("localhost/")) rest.remove_prefix(9);  // file://localhost/abs (RFC 8089)
    if (rest.empty() || rest[0] != '/') {
      return Err(Status::InvalidArgument("repository " + location +
                                         ": a file:// location needs an absolute path, e.g. "
                                         "file:///srv/backup"));
    }
    auto path = PercentDecode(rest);
    if (!path) {
      return Err(Status::InvalidArgument("repository " + location + ": bad %-escape in the path"));
    }
    return *path;
  }
  if (location[0] == '/') return location;
  if (auto backend = ResticStyleBackend(location)) {
    return Err(Status::InvalidArgument(
        "repository " + location + ": \"" + *backend +
        ":\" locations are restic's; cairn supports a directory path, file:///absolute/path "
        "or s3://bucket/prefix (for a local directory with this name, write ./" + location + ")"));
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(location, ec);
  if (ec) {
    return Err(Status::IOError("repository " + location +
                               ": cannot make the path absolute: " + ec.message()));
  }
  return abs.lexically_normal().string();
}

Result<std::unique_ptr<ObjectStore>> OpenS3(const std::string& location,
                                            const StoreOptions& options) {
  const GetEnvFn env = ProcessEnv();
  CAIRN_ASSIGN_OR_RETURN(S3Location loc,
                         ParseS3Location(location, options.endpoint, options.region, env));
  auto creds = ResolveAwsCredentials(env);
  if (!creds) return Err(creds.error().WithContext("repository " + loc.Describe()));
  S3StoreOptions so;
  so.connections = options.connections;
  so.timeouts.connect_ms = options.connect_timeout_ms;
  so.timeouts.low_speed_time_s = options.stall_timeout_s;
  so.timeouts.total_ms = options.request_timeout_ms;
  so.logger = options.logger;
  // The test suite's strict request checks (S3StoreOptions::strict).
  so.strict = env("CAIRN_S3_STRICT").value_or("") == "1";
  return std::make_unique<S3Store>(std::move(loc), std::move(*creds), so);
}

}  // namespace

bool IsS3Location(std::string_view location) {
  return location.size() >= 5 && (location[0] == 's' || location[0] == 'S') &&
         (location[1] == '3') && location.substr(2, 3) == "://";
}

Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& location,
                                               const StoreOptions& options) {
  std::unique_ptr<ObjectStore> store;
  S3Store* s3 = nullptr;  // owned by store, for EnsureBucket below
  if (IsS3Location(location)) {
    CAIRN_ASSIGN_OR_RETURN(store, OpenS3(location, options));
    s3 = static_cast<S3Store*>(store.get());
  } else {
    CAIRN_ASSIGN_OR_RETURN(std::string path, LocalPath(location));
    store = std::make_unique<LocalDirStore>(std::move(path));
  }
  // The one place where wrappers are composed (restic wrapBackend): the base
  // store, the bandwidth limit right around it (so retries are paid for
  // too), retries, and the read-only guard outermost so that a refused write
  // is never retried.
  if (options.limit_upload_kib > 0 || options.limit_download_kib > 0) {
    store = std::make_unique<RateLimitedStore>(std::move(store), options.limit_upload_kib,
                                               options.limit_download_kib);
  }
  auto retrying = std::make_unique<RetryingStore>(std::move(store), options);
  if (s3 != nullptr && options.create_bucket && !options.read_only) {
    // Retried like any call: a fresh radosgw or a throttled AWS may say 503.
    const bool lock = options.create_bucket_object_lock;
    CAIRN_RETURN_IF_ERROR(retrying->RetryStatus("CreateBucket", s3->location().bucket,
                                                [s3, lock] { return s3->EnsureBucket(lock); }));
  }
  store = std::move(retrying);
  if (options.read_only) store = std::make_unique<ReadOnlyStore>(std::move(store));
  return store;
}

}  // namespace cairn
