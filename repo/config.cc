#include "repo/config.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace cairn {

using nlohmann::json;

Bytes EncodeConfig(const RepoConfig& c) {
  json j = {
      {"format", c.format},
      {"id", c.id},
      {"created", FormatTime(c.created_ns, 9)},
      {"chunker",
       {{"algorithm", "fastcdc-gear-hmac"},
        {"min", c.chunker.min_size},
        {"avg", c.chunker.avg_size},
        {"max", c.chunker.max_size}}},
      {"zstd_level", c.zstd_level},
      {"pack_size", c.pack_size},
  };
  // Written only when set, so a config without them encodes exactly as
  // before they existed.
  if (c.lock_mode != LockMode::kNone) {
    j["object_lock"] = {{"mode", LockModeConfigName(c.lock_mode)},
                        {"retention_s", c.lock_retention_s}};
  }
  if (!c.data_storage_class.empty()) j["data_storage_class"] = c.data_storage_class;
  return ToBytes(j.dump(2) + "\n");
}

std::optional<LockMode> ParseLockMode(std::string_view s) {
  std::string lower(s);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "governance") return LockMode::kGovernance;
  if (lower == "compliance") return LockMode::kCompliance;
  return std::nullopt;
}

std::string_view LockModeConfigName(LockMode mode) {
  switch (mode) {
    case LockMode::kGovernance: return "governance";
    case LockMode::kCompliance: return "compliance";
    case LockMode::kNone: break;
  }
  return "none";
}

bool IsStorageClassName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    if (!(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') && ch != '_') return false;
  }
  return true;
}

PutOptions WriteOptionsFor(const RepoConfig& c, bool can_lock, WriteKind kind,
                           int64_t retention_s, int64_t now_ns) {
  PutOptions o;
  if (c.lock_mode != LockMode::kNone && can_lock && retention_s > 0) {
    o.lock_mode = c.lock_mode;
    // Whole seconds, rounded up: the date S3 gets (backend/s3_lock.h) is
    // never earlier than this.
    const int64_t until = now_ns + retention_s * 1000000000;
    o.retain_until_ns = (until + 999999999) / 1000000000 * 1000000000;
  }
  if (!c.data_storage_class.empty()) {
    o.storage_class = kind == WriteKind::kDataPack ? c.data_storage_class : "STANDARD";
  }
  return o;
}

Status ValidateConfig(const RepoConfig& c) {
  CAIRN_RETURN_IF_ERROR(ValidateChunkerParams(c.chunker));
  if (c.zstd_level < 0 || c.zstd_level > 22) {
    return Status::InvalidArgument("zstd level must be 0..22");
  }
  if (c.pack_size < 1024 * 1024 || c.pack_size > 1024u * 1024 * 1024) {
    return Status::InvalidArgument("pack size must be between 1 MiB and 1 GiB");
  }
  if ((c.lock_mode == LockMode::kNone) != (c.lock_retention_s == 0)) {
    return Status::InvalidArgument("object lock needs both a mode and a retention period");
  }
  if (c.lock_retention_s < 0 || c.lock_retention_s > kMaxRetentionS) {
    return Status::InvalidArgument("the retention period must be between 1 second and 100 years");
  }
  if (!c.data_storage_class.empty() && !IsStorageClassName(c.data_storage_class)) {
    return Status::InvalidArgument("storage class \"" + c.data_storage_class +
                                   "\" is not a class name (e.g. STANDARD_IA, GLACIER_IR, "
                                   "DEEP_ARCHIVE)");
  }
  return Status::OK();
}

Result<RepoConfig> DecodeConfig(ByteView data, const std::string& where) {
  json j = json::parse(AsChars(data), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("format") || !j["format"].is_number()) {
    return Err(Status::NotARepository(where + ": the object `config` is not a cairn config"));
  }
  RepoConfig c;
  c.format = j["format"].get<int>();
  if (c.format > kFormatVersion) {
    return Err(Status::Unsupported(
        where + ": repository format version " + std::to_string(c.format) +
        " is newer than this cairn supports (" + std::to_string(kFormatVersion) +
        "); upgrade cairn"));
  }
  try {
    c.id = j.at("id").get<std::string>();
    if (auto t = ParseTime(j.at("created").get<std::string>())) c.created_ns = *t;
    const json& ch = j.at("chunker");
    c.chunker.min_size = ch.at("min").get<uint32_t>();
    c.chunker.avg_size = ch.at("avg").get<uint32_t>();
    c.chunker.max_size = ch.at("max").get<uint32_t>();
    c.zstd_level = j.at("zstd_level").get<int>();
    c.pack_size = j.at("pack_size").get<uint32_t>();
    if (j.contains("object_lock")) {
      const json& lock = j.at("object_lock");
      auto mode = ParseLockMode(lock.at("mode").get<std::string>());
      if (!mode) {
        return Err(Status::Corruption(where + ": config: unknown object lock mode " +
                                      lock.at("mode").dump()));
      }
      c.lock_mode = *mode;
      c.lock_retention_s = lock.at("retention_s").get<int64_t>();
    }
    if (j.contains("data_storage_class")) {
      c.data_storage_class = j.at("data_storage_class").get<std::string>();
    }
  } catch (const json::exception& e) {
    return Err(Status::Corruption(where + ": config: " + e.what()));
  }
  if (c.id.size() != 64) return Err(Status::Corruption(where + ": config: bad repository id"));
  Status s = ValidateConfig(c);
  if (!s.ok()) return Err(Status::Corruption(where + ": config: " + s.message()));
  return c;
}

}  // namespace cairn
