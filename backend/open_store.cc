#include "backend/open_store.h"

#include <cctype>
#include <filesystem>
#include <optional>
#include <system_error>

#include "backend/local_dir_store.h"
#include "backend/read_only_store.h"
#include "backend/retrying_store.h"

namespace cairn {

namespace {

constexpr std::string_view kSupportedForms =
    "use a directory path or file:///absolute/path (s3://bucket/prefix is not built yet)";

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
    if (scheme == "s3") {
      return Err(Status::InvalidArgument("repository " + location +
                                         ": S3 support is not built into this cairn yet; use a "
                                         "local directory (a path or file:///absolute/path)"));
    }
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
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(location, ec);
  if (ec) {
    return Err(Status::IOError("repository " + location +
                               ": cannot make the path absolute: " + ec.message()));
  }
  return abs.lexically_normal().string();
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& location,
                                               const StoreOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::string path, LocalPath(location));
  // The one place where wrappers are composed (restic wrapBackend): the base
  // store, retries around it, and the read-only guard outermost so that a
  // refused write is never retried.
  std::unique_ptr<ObjectStore> store = std::make_unique<LocalDirStore>(std::move(path));
  store = std::make_unique<RetryingStore>(std::move(store), options);
  if (options.read_only) store = std::make_unique<ReadOnlyStore>(std::move(store));
  return store;
}

}  // namespace cairn
