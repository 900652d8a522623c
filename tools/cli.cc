#include "tools/cli.h"

#include <unistd.h>

#include <cstdio>

#include "backend/open_store.h"

namespace cairn {

Result<std::unique_ptr<ObjectStore>> Context::OpenStoreFor(bool read_only) {
  if (repo.empty()) {
    return Err(Status::InvalidArgument("no repository given: use -r REPO or set CAIRN_REPO"));
  }
  StoreOptions so;
  so.read_only = read_only;
  so.logger = &logger;
  return OpenStore(repo, so);
}

OpenOptions Context::RepoOpenOptions() {
  OpenOptions o;
  o.cache_dir = cache_dir;
  o.logger = &logger;
  return o;
}

Result<std::unique_ptr<Repository>> Context::OpenRepository(bool read_only) {
  CAIRN_ASSIGN_OR_RETURN(auto store, OpenStoreFor(read_only));
  // Fail on a missing repository before asking for a password.
  auto head = store->Head(kConfigKey);
  if (!head && head.error().Is(ErrorCode::kNotFound)) {
    return Err(Status::NotARepository("no cairn repository at " + store->Describe() +
                                      " (no `config` object); create one with `cairn init`"));
  }
  CAIRN_ASSIGN_OR_RETURN(std::string pw,
                         ReadPassword(password, "enter the repository password: ", false));
  return Repository::Open(std::move(store), pw, RepoOpenOptions());
}

bool Context::ShowProgress() const { return !quiet && !json && ::isatty(STDERR_FILENO); }

void Context::Say(const std::string& line) const {
  if (quiet || json) return;
  fputs(line.c_str(), stdout);
  fputc('\n', stdout);
}

}  // namespace cairn
