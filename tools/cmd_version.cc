// cairn version: what a bug report needs (restic's `version` prints its Go
// version and platform): cairn's version, the compiler, the build type and
// the versions of the libraries it runs with.
#include <curl/curl.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <sys/utsname.h>
#include <zstd.h>

#include <cstdio>

#include "common/version.h"
#include "tools/cli.h"
#include "tools/format.h"

// Set by tools/CMakeLists.txt on this file only.
#ifndef CAIRN_BUILD_TYPE
#define CAIRN_BUILD_TYPE "unknown"
#endif
#ifndef CAIRN_SANITIZERS
#define CAIRN_SANITIZERS ""
#endif
#ifndef CAIRN_FUSE_VERSION
#define CAIRN_FUSE_VERSION "unknown"
#endif

namespace cairn {

namespace {

std::string Compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string Platform() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

std::string LmdbVersion() {
  int major = 0, minor = 0, patch = 0;
  mdb_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

Status RunVersion(Context& ctx) {
  // Libraries are those loaded at run time, except FUSE: only fs/fuse_ops.cc
  // includes its headers, so its version is the one cairn was built with.
  const std::vector<std::pair<std::string, std::string>> libs = {
      {"fuse", CAIRN_FUSE_VERSION},
      {"zstd", ZSTD_versionString()},
      {"openssl", OpenSSL_version(OPENSSL_VERSION_STRING)},
      {"curl", curl_version_info(CURLVERSION_NOW)->version},
      {"lmdb", LmdbVersion()},
  };
  const std::string sanitizers = *CAIRN_SANITIZERS ? CAIRN_SANITIZERS : "none";
  if (ctx.json) {
    nlohmann::json l = nlohmann::json::object();
    for (const auto& [name, v] : libs) l[name] = v;
    printf("%s\n", DumpJson({{"version", kVersion},
                             {"compiler", Compiler()},
                             {"build_type", CAIRN_BUILD_TYPE},
                             {"sanitizers", sanitizers},
                             {"platform", Platform()},
                             {"libraries", l}})
                       .c_str());
    return Status::OK();
  }
  printf("cairn %s\n", kVersion);
  printf("compiler:   %s\n", Compiler().c_str());
  printf("build type: %s (sanitizers: %s)\n", CAIRN_BUILD_TYPE, sanitizers.c_str());
  printf("platform:   %s\n", Platform().c_str());
  std::string line;
  for (const auto& [name, v] : libs) line += (line.empty() ? "" : ", ") + name + " " + v;
  printf("libraries:  %s\n", line.c_str());
  return Status::OK();
}

}  // namespace

void RegisterVersion(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("version", "show the version, the build and its libraries");
  cmd->callback([&] { ctx.run = [&] { return RunVersion(ctx); }; });
}

}  // namespace cairn
