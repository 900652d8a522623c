// The repository config object: written once by init, plaintext JSON (it
// holds no secret: the chunker's gear table is derived from the MAC key).
// Layout: doc/format.md, "Config".
#pragma once

#include <cstdint>
#include <string>

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
};

Bytes EncodeConfig(const RepoConfig& c);
// where names the store in messages. NotARepository when the bytes are not a
// cairn config; Unsupported for a newer format; InvalidArgument for bad values.
Result<RepoConfig> DecodeConfig(ByteView data, const std::string& where);
Status ValidateConfig(const RepoConfig& c);

}  // namespace cairn
