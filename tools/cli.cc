#include "tools/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "backend/open_store.h"

namespace cairn {

StoreOptions Context::MakeStoreOptions(bool read_only) {
  StoreOptions so;
  so.read_only = read_only;
  so.logger = &logger;
  so.max_retries = retries;
  so.retry_budget_ms = retry_time_s * 1000;
  so.limit_upload_kib = limit_upload;
  so.limit_download_kib = limit_download;
  so.endpoint = endpoint;
  so.region = region;
  so.connections = connections;
  so.connect_timeout_ms = connect_timeout_s * 1000;
  so.stall_timeout_s = stall_timeout_s;
  return so;
}

Result<std::unique_ptr<ObjectStore>> Context::OpenStoreFor(bool read_only, bool create_bucket) {
  StoreOptions so = MakeStoreOptions(read_only);
  so.create_bucket = create_bucket;
  return OpenStoreWith(so);
}

Result<std::unique_ptr<ObjectStore>> Context::OpenStoreWith(const StoreOptions& so) {
  if (repo.empty()) {
    return Err(Status::InvalidArgument("no repository given: use -r REPO or set CAIRN_REPO"));
  }
  CAIRN_ASSIGN_OR_RETURN(auto store, OpenStore(repo, so));
  if (!IsS3Location(repo)) {
    // A local repository is a directory: a file there made every command
    // suggest `cairn init`, which then failed on "<file>/keys/...".
    struct stat st;
    const std::string dir = store->Describe();
    if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      return Err(Status::InvalidArgument("repository " + dir +
                                         " is a file, not a directory: give the directory "
                                         "of a repository, or a new path for `cairn init`"));
    }
  }
  return store;
}

OpenOptions Context::RepoOpenOptions() {
  OpenOptions o;
  o.cache_dir = cache_dir;
  o.logger = &logger;
  return o;
}

Result<std::unique_ptr<Repository>> Context::OpenRepository(bool read_only,
                                                             std::string* password_out) {
  CAIRN_ASSIGN_OR_RETURN(auto store, OpenStoreFor(read_only));
  // Fail on a missing repository before asking for a password. Other
  // errors are left to Repository::Open, which reads the config anyway.
  auto head = store->Head(kConfigKey);
  if (!head && head.error().Is(ErrorCode::kNotFound)) return Err(NoRepositoryAt(store->Describe()));
  CAIRN_ASSIGN_OR_RETURN(std::string pw,
                         ReadPassword(password, "enter the repository password: ", false));
  const std::string where = store->Describe();
  auto opened = Repository::Open(std::move(store), pw, RepoOpenOptions());
  if (!opened && opened.error().Is(ErrorCode::kWrongPassword)) {
    // Name the source the password came from, not every possible one.
    return Err(Status::WrongPassword("wrong password for the repository at " + where +
                                     " (no key file opens with the password from " +
                                     DescribePasswordSource(password) + ")"));
  }
  if (opened && password_out != nullptr) *password_out = std::move(pw);
  return opened;
}

bool Context::ShowProgress() const { return !quiet && !json && ::isatty(STDERR_FILENO); }

void Context::Say(const std::string& line) const {
  if (quiet || json) return;
  fputs(line.c_str(), stdout);
  fputc('\n', stdout);
}

}  // namespace cairn
