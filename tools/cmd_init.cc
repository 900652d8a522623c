// cairn init
#include <cstdio>

#include "common/clock.h"
#include "tools/cli.h"
#include "tools/format.h"

namespace cairn {

namespace {

struct InitArgs {
  uint32_t pack_mib = 16;
  int compression = 3;
  uint32_t chunk_min_kib = 512, chunk_avg_kib = 1024, chunk_max_kib = 8192;
  uint64_t kdf_n = 1 << 15;
  std::string object_lock;  // "", "governance" or "compliance"
  std::string retention;    // "90d"...
  std::string data_storage_class;
};

// The lock and storage-class options, checked before anything is opened.
Status ParseLockArgs(const InitArgs& a, InitOptions& init) {
  if (a.object_lock.empty() != a.retention.empty()) {
    return Status::InvalidArgument(
        "--object-lock and --retention go together: give the mode and the period, e.g. "
        "--object-lock compliance --retention 90d");
  }
  if (!a.object_lock.empty()) {
    auto mode = ParseLockMode(a.object_lock);
    if (!mode) {
      return Status::InvalidArgument("--object-lock \"" + a.object_lock +
                                     "\": give governance or compliance");
    }
    auto secs = ParseDuration(a.retention);
    if (!secs || *secs <= 0 || *secs > kMaxRetentionS) {
      return Status::InvalidArgument("--retention \"" + a.retention +
                                     "\": give a period from 1s to 100y, e.g. 90d, 12w or 1y");
    }
    init.lock_mode = *mode;
    init.lock_retention_s = *secs;
  }
  if (!a.data_storage_class.empty() && !IsStorageClassName(a.data_storage_class)) {
    return Status::InvalidArgument("--data-storage-class \"" + a.data_storage_class +
                                   "\": give an S3 storage class such as STANDARD_IA, "
                                   "GLACIER_IR, GLACIER or DEEP_ARCHIVE");
  }
  init.data_storage_class = a.data_storage_class;
  return Status::OK();
}

Status RunInit(Context& ctx, const InitArgs& a) {
  InitOptions init;
  CAIRN_RETURN_IF_ERROR(ParseLockArgs(a, init));
  const bool lock = init.lock_mode != LockMode::kNone;
  StoreOptions so = ctx.MakeStoreOptions(false);
  so.create_bucket = true;
  so.create_bucket_object_lock = lock;  // a bucket made here gets object lock
  CAIRN_ASSIGN_OR_RETURN(auto store, ctx.OpenStoreWith(so));
  auto head = store->Head(kConfigKey);
  if (head) {
    return Status::AlreadyExists(store->Describe() +
                                 " already holds a cairn repository; refusing to initialise it "
                                 "again");
  }
  // Refused before the password is asked for (Repository::Init checks again).
  if (lock) {
    CAIRN_ASSIGN_OR_RETURN(ObjectLockConfig bucket, store->GetObjectLockConfig());
    if (!bucket.enabled) return NoObjectLockAt(store->Describe());
    if (bucket.default_mode != LockMode::kNone) {
      ctx.logger.Warn("the bucket of {} has a default retention ({} for {}s); cairn locks each "
                      "object itself and does not need it, and it also locks what is meant to "
                      "be deleted (failed uploads, leases)",
                      store->Describe(), LockModeConfigName(bucket.default_mode),
                      bucket.default_retention_s);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(std::string pw, ReadPassword(ctx.password,
                                                      "enter a password for the new repository: ",
                                                      true));
  init.pack_size = a.pack_mib * 1024 * 1024;
  init.zstd_level = a.compression;
  init.chunker = {a.chunk_min_kib * 1024, a.chunk_avg_kib * 1024, a.chunk_max_kib * 1024};
  init.kdf.n = a.kdf_n;
  std::string where = store->Describe();
  CAIRN_ASSIGN_OR_RETURN(auto repo,
                         Repository::Init(std::move(store), pw, init, ctx.RepoOpenOptions()));
  const RepoConfig& c = repo->config();
  if (ctx.json) {
    nlohmann::json j = {{"id", c.id}, {"repository", where}};
    if (lock) {
      j["object_lock"] = {{"mode", LockModeConfigName(c.lock_mode)},
                          {"retention_s", c.lock_retention_s}};
    }
    if (!c.data_storage_class.empty()) j["data_storage_class"] = c.data_storage_class;
    printf("%s\n", DumpJson(j).c_str());
  } else {
    ctx.Say("created cairn repository " + c.id.substr(0, 8) + " at " + where);
    if (lock) {
      ctx.Say("object lock: " + std::string(LockModeConfigName(c.lock_mode)) + ", every object "
              "kept at least " + a.retention + " after it is written");
    }
    if (!c.data_storage_class.empty()) {
      ctx.Say("data packs go to storage class " + c.data_storage_class);
    }
    ctx.Say("Losing the password means losing the data: there is no way to recover it.");
  }
  return Status::OK();
}

}  // namespace

void RegisterInit(CLI::App& app, Context& ctx) {
  auto& a = ctx.Make<InitArgs>();
  auto* cmd = app.add_subcommand("init", "create a new repository");
  cmd->add_option("--pack-size", a.pack_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--compression", a.compression, "zstd level, 0 = off (default 3)")
      ->check(CLI::Range(0, 22));
  cmd->add_option("--chunk-min", a.chunk_min_kib, "minimum chunk size in KiB (default 512)");
  cmd->add_option("--chunk-avg", a.chunk_avg_kib, "average chunk size in KiB, a power of two "
                                                  "(default 1024)");
  cmd->add_option("--chunk-max", a.chunk_max_kib, "maximum chunk size in KiB (default 8192)");
  cmd->add_option("--kdf-n", a.kdf_n, "scrypt cost N, a power of two (default 32768)");
  cmd->add_option("--object-lock", a.object_lock,
                  "lock every object (S3 Object Lock): governance or compliance");
  cmd->add_option("--retention", a.retention,
                  "with --object-lock: default lock period of snapshots, e.g. 90d");
  cmd->add_option("--data-storage-class", a.data_storage_class,
                  "S3 storage class of data packs, e.g. STANDARD_IA or GLACIER (metadata "
                  "stays STANDARD)");
  cmd->callback([&] { ctx.run = [&] { return RunInit(ctx, a); }; });
}

}  // namespace cairn
