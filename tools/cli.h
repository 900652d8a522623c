// Shared state of one cairn invocation: global options, the logger, the
// interrupt flag and the command to run. Commands register themselves on the
// CLI11 app and set `run`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "backend/object_store.h"
#include "backend/open_store.h"
#include "common/log.h"
#include "common/status.h"
#include "repo/repository.h"
#include "tools/password.h"

namespace cairn {

struct Context {
  std::string repo;  // -r / CAIRN_REPO
  PasswordSource password;
  std::string cache_dir;  // --cache-dir / CAIRN_CACHE_DIR; empty: XDG default
  // Store options (global flags, see man/cairn.1 OPTIONS).
  std::string endpoint;         // --endpoint
  std::string region;           // --region
  int connections = 8;          // --connections
  uint64_t limit_upload = 0;    // --limit-upload KiB/s
  uint64_t limit_download = 0;  // --limit-download KiB/s
  int retries = 5;              // --retries
  int64_t retry_time_s = 60;    // --retry-time
  int64_t connect_timeout_s = 10;  // --connect-timeout
  int64_t stall_timeout_s = 30;    // --stall-timeout
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  StderrLogger logger;
  std::atomic<bool> cancel{false};  // set by the signal thread
  std::function<Status()> run;      // the chosen command
  std::vector<std::shared_ptr<void>> keep;  // option structs of registered commands

  template <class T>
  T& Make() {
    auto p = std::make_shared<T>();
    keep.push_back(p);
    return *p;
  }

  // create_bucket: `cairn init` on s3:// creates a missing bucket.
  Result<std::unique_ptr<ObjectStore>> OpenStoreFor(bool read_only, bool create_bucket = false);
  // The same with options of the caller's (init: a bucket with object lock).
  Result<std::unique_ptr<ObjectStore>> OpenStoreWith(const StoreOptions& so);
  StoreOptions MakeStoreOptions(bool read_only);
  // Opens the store, fails with NotARepository before asking for the
  // password when it holds no config, then opens the repository. password,
  // when not null, receives the password that opened it (the mount daemon
  // opens the repository again with it). What depends on the kind of store
  // (parallelism, caches) is read from repo->store().Traits().
  Result<std::unique_ptr<Repository>> OpenRepository(bool read_only = false,
                                                     std::string* password = nullptr);
  OpenOptions RepoOpenOptions();
  // Progress lines only for a person watching: stderr is a terminal and
  // neither --quiet nor --json was given.
  bool ShowProgress() const;
  // Prints a line to stdout unless --quiet or --json.
  void Say(const std::string& line) const;
};

void RegisterInit(CLI::App& app, Context& ctx);
void RegisterKey(CLI::App& app, Context& ctx);
void RegisterBackup(CLI::App& app, Context& ctx);
void RegisterSnapshots(CLI::App& app, Context& ctx);
void RegisterLs(CLI::App& app, Context& ctx);
void RegisterCat(CLI::App& app, Context& ctx);
void RegisterStats(CLI::App& app, Context& ctx);
void RegisterRestore(CLI::App& app, Context& ctx);
void RegisterCheck(CLI::App& app, Context& ctx);
void RegisterIndex(CLI::App& app, Context& ctx);
void RegisterCache(CLI::App& app, Context& ctx);
void RegisterMount(CLI::App& app, Context& ctx);
void RegisterSeal(CLI::App& app, Context& ctx);
void RegisterForget(CLI::App& app, Context& ctx);
void RegisterVersion(CLI::App& app, Context& ctx);

}  // namespace cairn
