#include "backend/open_store.h"

#include <unistd.h>

#include <climits>
#include <filesystem>

#include "backend/local_dir_store.h"
#include "backend/read_only_store.h"
#include "backend/retrying_store.h"

namespace cairn {

Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& location,
                                               const StoreOptions& options) {
  std::unique_ptr<ObjectStore> store;
  std::string path;
  if (location.starts_with("file://")) {
    path = location.substr(7);
    if (path.empty() || path[0] != '/') {
      return Err(Status::InvalidArgument("repository " + location +
                                         ": a file:// location needs an absolute path, e.g. "
                                         "file:///srv/backup"));
    }
  } else if (location.starts_with("s3://")) {
    return Err(Status::InvalidArgument("repository " + location +
                                       ": S3 support is not built into this cairn yet; use a "
                                       "local path"));
  } else if (location.find("://") != std::string::npos) {
    return Err(Status::InvalidArgument("repository " + location +
                                       ": unknown scheme; use a path or file:///path"));
  } else if (location.empty()) {
    return Err(Status::InvalidArgument("empty repository location"));
  } else {
    path = location;
  }
  if (path[0] != '/') path = (std::filesystem::current_path() / path).lexically_normal().string();
  store = std::make_unique<LocalDirStore>(path);
  store = std::make_unique<RetryingStore>(std::move(store), options);
  if (options.read_only) store = std::make_unique<ReadOnlyStore>(std::move(store));
  return store;
}

}  // namespace cairn
