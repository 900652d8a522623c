// cairn: deduplicated, compressed, encrypted backups in S3 or a directory.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/version.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"

namespace {

// Signals are blocked in every thread and taken by one thread with
// sigwait(), so no handler and no global are needed: the first SIGINT or
// SIGTERM asks the command to stop cleanly, the second ends the process.
void StartSignalThread(cairn::Context& ctx, sigset_t set) {
  std::thread([&ctx, set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    ctx.cancel.store(true);
    const char msg[] = "\ncairn: interrupted; finishing cleanly (press Ctrl-C again to abort)\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    if (sigwait(&set, &sig) == 0) _exit(cairn::kExitInterrupted);
  }).detach();
}

// Levenshtein distance, to suggest the command a typo meant.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The message for a command line whose first word is not a command, or
// nothing when the parse error is another one. CLI11 only says "A
// subcommand is required" for `cairn forget` (restic: unknown command).
std::string UnknownCommandMessage(const CLI::App& app) {
  if (!app.get_subcommands().empty()) return {};
  const std::vector<std::string> rest = app.remaining();
  if (rest.empty() || rest.front().starts_with("-")) return {};
  const std::string& word = rest.front();
  std::string best;
  size_t best_distance = 3;  // suggest only close names
  for (const CLI::App* sub : app.get_subcommands({})) {
    const std::string& name = sub->get_name();
    size_t d = EditDistance(word, name);
    if (d < best_distance || (name.starts_with(word) && word.size() >= 3)) {
      best_distance = std::min(d, best_distance);
      best = name;
    }
  }
  return "unknown command \"" + word + "\"" +
         (best.empty() ? std::string() : "; did you mean \"" + best + "\"?") +
         "\nRun `cairn --help` for the list of commands.";
}

constexpr char kHelpFooter[] = R"(Environment:
  CAIRN_REPO            the repository, when -r is not given
  CAIRN_PASSWORD        the repository password
  CAIRN_PASSWORD_FILE   a file holding the password, when --password-file is not given
  CAIRN_CACHE_DIR       the cache directory, when --cache-dir is not given
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
  AWS_ENDPOINT_URL, AWS_REGION   S3 credentials and location

Exit status: 0 success, 1 error, 2 usage, 3 partial, 4 unknown command,
  10 no repository, 11 unsupported, 12 wrong password, 13 corruption,
  14 permission denied, 15 not found, 16 store unavailable, 17 no space,
  18 locked, 130 interrupted (see cairn(1)).)";

}  // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Pack buffers (16 MiB) always come from mmap and go back to the system
  // when freed; without a fixed threshold glibc raises it after the first
  // free and keeps freed packs in its arenas, inflating peak RSS.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_ARENA_MAX, 4);

  cairn::Context ctx;
  // The name is given so that usage lines say "cairn", not argv[0].
  CLI::App app{"cairn: deduplicated, compressed, encrypted backups in S3 or a local directory",
               "cairn"};
  app.footer(kHelpFooter);
  // Parser errors look like every other error: one line starting "cairn:".
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    std::string m = e.what();
    if (!m.starts_with("cairn: ")) m = "cairn: " + m;
    return m + "\nRun `cairn --help` or `cairn COMMAND --help` for more information.\n";
  });
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", cairn::kVersionString);
  if (const char* r = std::getenv("CAIRN_REPO")) ctx.repo = r;
  if (const char* c = std::getenv("CAIRN_CACHE_DIR")) ctx.cache_dir = c;
  if (const char* f = std::getenv("CAIRN_PASSWORD_FILE")) ctx.password.file = f;
  app.add_option("-r,--repo", ctx.repo,
                 "repository: a path, file:///path or s3://bucket/prefix (env CAIRN_REPO)");
  app.add_option("--password-file", ctx.password.file, "read the password from a file");
  app.add_option("--password-command", ctx.password.command,
                 "read the password from a command's output");
  app.add_option("--cache-dir", ctx.cache_dir, "cache directory (default $XDG_CACHE_HOME/cairn)");
  app.add_option("--endpoint", ctx.endpoint,
                 "S3 endpoint URL, e.g. http://127.0.0.1:9000 (env AWS_ENDPOINT_URL; default AWS)");
  app.add_option("--region", ctx.region,
                 "S3 region (env AWS_REGION, AWS_DEFAULT_REGION, the AWS profile; default "
                 "us-east-1)");
  app.add_option("--connections", ctx.connections, "parallel S3 connections (default 8)")
      ->check(CLI::Range(1, 256));
  app.add_option("--limit-upload", ctx.limit_upload, "upload limit in KiB/s for the whole process");
  app.add_option("--limit-download", ctx.limit_download,
                 "download limit in KiB/s for the whole process");
  app.add_option("--retries", ctx.retries, "retries of a failed store request (default 5)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--retry-time", ctx.retry_time_s,
                 "stop retrying one request after this many seconds (default 60)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  app.add_option("--connect-timeout", ctx.connect_timeout_s,
                 "seconds to wait for an S3 connection (default 10)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}));
  app.add_option("--stall-timeout", ctx.stall_timeout_s,
                 "an S3 transfer moving under 1 KiB/s this many seconds is retried (default 30)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}));
  app.add_flag("--json", ctx.json, "machine-readable output");
  app.add_flag("-q,--quiet", ctx.quiet, "print nothing but errors");
  app.add_flag("-v,--verbose", ctx.verbose, "more output (repeat for debug)");

  cairn::RegisterInit(app, ctx);
  cairn::RegisterKey(app, ctx);
  cairn::RegisterBackup(app, ctx);
  cairn::RegisterSnapshots(app, ctx);
  cairn::RegisterLs(app, ctx);
  cairn::RegisterCat(app, ctx);
  cairn::RegisterStats(app, ctx);
  cairn::RegisterRestore(app, ctx);
  cairn::RegisterCheck(app, ctx);
  cairn::RegisterIndex(app, ctx);
  cairn::RegisterCache(app, ctx);
  cairn::RegisterMount(app, ctx);
  cairn::RegisterSeal(app, ctx);
  cairn::RegisterForget(app, ctx);
  cairn::RegisterVersion(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (std::string m = UnknownCommandMessage(app); !m.empty()) {
      fprintf(stderr, "cairn: %s\n", m.c_str());
      return cairn::kExitUnknownCommand;
    }
    int rc = app.exit(e);
    return rc == 0 ? 0 : cairn::kExitUsage;
  }
  ctx.logger.SetLevel(ctx.verbose >= 2   ? cairn::LogLevel::kDebug
                      : ctx.verbose == 1 ? cairn::LogLevel::kInfo
                                         : cairn::LogLevel::kWarning);
  StartSignalThread(ctx, set);
  if (!ctx.run) return cairn::kExitUsage;
  cairn::Status s = ctx.run();
  fflush(stdout);
  if (!s.ok()) {
    fprintf(stderr, "cairn: %s\n", s.message().c_str());
  }
  return cairn::ExitCodeFor(s);
}
