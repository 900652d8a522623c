// Id: a 32-byte identifier (blob ids are HMAC-SHA256, object ids SHA-256).
// Shared by cache/ and repo/, hence in common/.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace cairn {

struct Id {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  static Id FromView(ByteView b);  // b.size() must be kSize
  static std::optional<Id> FromHex(std::string_view hex);

  std::string Hex() const;
  std::string Short() const { return Hex().substr(0, 8); }  // as shown to users
  ByteView view() const { return {bytes.data(), bytes.size()}; }
  bool IsZero() const;

  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const noexcept {
    size_t h;  // ids are uniformly random: any 8 bytes are a good hash
    std::memcpy(&h, id.bytes.data(), sizeof(h));
    return h;
  }
};

}  // namespace cairn

template <>
struct std::hash<cairn::Id> : cairn::IdHash {};
