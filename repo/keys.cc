#include "repo/keys.h"

#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/hex.h"

namespace cairn {

using nlohmann::json;

namespace {

constexpr std::string_view kKeyAad = "cairn.key";

std::string Hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

std::string Username() {
  if (passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return std::to_string(geteuid());
}

Result<json> ParseKeyJson(ByteView file, const std::string& name) {
  json j = json::parse(AsChars(file), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kdf", "") != "scrypt") {
    return Err(Status::Corruption(name + ": not a cairn key file"));
  }
  return j;
}

}  // namespace

std::string KeyKey(const Id& id) { return "keys/" + id.Hex(); }

Result<Bytes> CreateKeyFile(const MasterKeys& keys, std::string_view password,
                            const ScryptParams& kdf) {
  uint8_t salt[32];
  RandomBytes(salt);
  CAIRN_ASSIGN_OR_RETURN(Key32 kek, Scrypt(password, salt, kdf));
  Bytes plain;
  Append(plain, keys.encryption);
  Append(plain, keys.mac);
  Bytes sealed;
  SealWithKey(kek, plain, AsBytes(kKeyAad), sealed);
  json j = {{"kdf", "scrypt"},
            {"n", kdf.n},
            {"r", kdf.r},
            {"p", kdf.p},
            {"salt", ToHex(salt)},
            {"created", FormatTime(NowNs(), 9)},
            {"hostname", Hostname()},
            {"username", Username()},
            {"data", ToHex(sealed)}};
  return ToBytes(j.dump(2) + "\n");
}

Result<KeyInfo> ReadKeyInfo(ByteView file, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, ParseKeyJson(file, name));
  KeyInfo info;
  info.id = Sha256(file);
  try {
    info.kdf.n = j.at("n").get<uint64_t>();
    info.kdf.r = j.at("r").get<uint32_t>();
    info.kdf.p = j.at("p").get<uint32_t>();
    info.hostname = j.value("hostname", "");
    info.username = j.value("username", "");
    if (auto t = ParseTime(j.value("created", ""))) info.created_ns = *t;
  } catch (const json::exception& e) {
    return Err(Status::Corruption(name + ": " + e.what()));
  }
  return info;
}

Result<MasterKeys> OpenKeyFile(ByteView file, std::string_view password,
                               const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, ParseKeyJson(file, name));
  CAIRN_ASSIGN_OR_RETURN(KeyInfo info, ReadKeyInfo(file, name));
  auto salt = FromHex(j.value("salt", ""));
  auto sealed = FromHex(j.value("data", ""));
  if (!salt || !sealed) return Err(Status::Corruption(name + ": bad salt or data"));
  CAIRN_ASSIGN_OR_RETURN(Key32 kek, Scrypt(password, *salt, info.kdf));
  Bytes plain;
  if (!OpenWithKey(kek, *sealed, AsBytes(kKeyAad), plain).ok()) {
    return Err(Status::WrongPassword(name + ": wrong password"));
  }
  if (plain.size() != 64) return Err(Status::Corruption(name + ": bad key length"));
  MasterKeys keys;
  std::memcpy(keys.encryption.data(), plain.data(), 32);
  std::memcpy(keys.mac.data(), plain.data() + 32, 32);
  return keys;
}

}  // namespace cairn
