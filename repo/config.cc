#include "repo/config.h"

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
  return ToBytes(j.dump(2) + "\n");
}

Status ValidateConfig(const RepoConfig& c) {
  CAIRN_RETURN_IF_ERROR(ValidateChunkerParams(c.chunker));
  if (c.zstd_level < 0 || c.zstd_level > 22) {
    return Status::InvalidArgument("zstd level must be 0..22");
  }
  if (c.pack_size < 1024 * 1024 || c.pack_size > 1024u * 1024 * 1024) {
    return Status::InvalidArgument("pack size must be between 1 MiB and 1 GiB");
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
  } catch (const json::exception& e) {
    return Err(Status::Corruption(where + ": config: " + e.what()));
  }
  if (c.id.size() != 64) return Err(Status::Corruption(where + ": config: bad repository id"));
  Status s = ValidateConfig(c);
  if (!s.ok()) return Err(Status::Corruption(where + ": config: " + s.message()));
  return c;
}

}  // namespace cairn
