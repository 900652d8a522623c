// The repository config object: written once by init, plaintext JSON (it
// holds no secret: the chunker's gear table is derived from the MAC key).
// Layout: doc/format.md, "Config".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/object_store.h"
#include "common/bytes.h"
#include "common/status.h"
#include "repo/chunker.h"

namespace cairn {

inline constexpr int kFormatVersion = 1;
inline constexpr char kConfigKey[] = "config";

struct RepoConfig {
  int format = kFormatVersion;
  std::string id;  // 64 hex digits, random; names the cache directory
  int64_t created_ns = 0;
  ChunkerParams chunker;
  int zstd_level = 3;                   // 0 = no compression
  uint32_t pack_size = 16 * 1024 * 1024;  // target size of a pack
  // Object lock (WORM) defaults: every object written carries lock_mode and
  // a retain-until of at least its write time + lock_retention_s (`backup
  // --retention` overrides the period per snapshot). kNone: no lock; a
  // config written before these fields existed reads as kNone.
  LockMode lock_mode = LockMode::kNone;
  int64_t lock_retention_s = 0;  // > 0 exactly when lock_mode is set
  // Storage class of packs holding data blobs ("" = the store's default);
  // everything else always goes to STANDARD.
  std::string data_storage_class;
};

// At most 100 years: S3 accepts longer, but a typo ("9000d") would lock a
// bucket's objects, and its bill, for decades.
inline constexpr int64_t kMaxRetentionS = int64_t{100} * 365 * 86400;

// "governance" / "compliance" (any case) -> mode; nullopt otherwise.
std::optional<LockMode> ParseLockMode(std::string_view s);
// "governance" / "compliance" / "none".
std::string_view LockModeConfigName(LockMode mode);
// Whether s looks like an S3 storage class name: A-Z, 0-9 and '_'.
bool IsStorageClassName(std::string_view s);

// What an object is, for the options it is written with.
enum class WriteKind { kConfig, kKey, kIndex, kSnapshot, kTreePack, kDataPack };

// The PutOptions an object of this kind is written with in a repository
// with config c: when c has a lock and can_lock (the store's
// GetObjectLockConfig() says enabled), c's mode and a retain-until of
// now_ns + retention_s rounded up to the second; data packs get c's data
// storage class, and every other kind STANDARD once a data class is set
// (so metadata never lands in a cold class a provider made its default).
PutOptions WriteOptionsFor(const RepoConfig& c, bool can_lock, WriteKind kind,
                           int64_t retention_s, int64_t now_ns);

Bytes EncodeConfig(const RepoConfig& c);
// where names the store in messages. NotARepository when the bytes are not a
// cairn config; Unsupported for a newer format; InvalidArgument for bad values.
Result<RepoConfig> DecodeConfig(ByteView data, const std::string& where);
Status ValidateConfig(const RepoConfig& c);

}  // namespace cairn
